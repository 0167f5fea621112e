import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Proofs around the control handshake (the token check itself is protocol/control-pake.ts): the
 * binding digest a client checks before it starts, and the per-connection proofs of data connections
 * under the session key the handshake derived.
 */
const DATA_LABEL = 'p2prc/v1/data';

export function newNonce(): string {
  return randomBytes(32).toString('hex');
}

function hmacHex(key: string | Buffer, ...parts: string[]): string {
  const h = createHmac('sha256', key);
  for (const part of parts) h.update(part).update('\0');
  return h.digest('hex');
}

/**
 * What the host tells the client of its TLS session before any proof, so that a client whose session
 * differs (a TLS-terminating relay between them) stops before it sends one, and says why. An unkeyed
 * digest: an interceptor that rewrites it still fails the proofs, which cover the binding itself.
 */
export function bindingDigest(binding: string): string {
  return createHmac('sha256', 'p2prc/v1/binding-digest').update(binding).digest('hex');
}

/**
 * A data connection's proof. `seq` must strictly increase per session, which defeats replay. A
 * multiplexed data connection's proof covers that role too, so nobody can turn one kind into the other.
 */
export function dataProof(key: Buffer, sessionId: string, seq: number, mux = false): string {
  return mux
    ? hmacHex(key, DATA_LABEL, sessionId, String(seq), 'mux')
    : hmacHex(key, DATA_LABEL, sessionId, String(seq));
}

export function proofsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
