import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * HMAC challenge-response on a shared token (after bore's auth.rs), so the token never crosses
 * the wire. Each side contributes a fresh 32-byte nonce; a recorded response is useless against
 * a new challenge. The host also proves it holds the token, so a client cannot be lured into
 * publishing through an impostor that merely accepts everything.
 */
const CLIENT_LABEL = 'p2prc/v1/client';
const HOST_LABEL = 'p2prc/v1/host';
const SESSION_LABEL = 'p2prc/v1/session';
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
 * Both proofs cover `binding`, the TLS exporter value of the connection they travel on (RFC 9266,
 * tls-exporter): a relay that terminates TLS on each side sees two different values, so proofs it
 * forwards do not verify and it cannot get its own certificate pinned on first use. Plaintext
 * connections have no binding ('') and keep the unbound form.
 */
export function clientProof(token: string, hostNonce: string, clientNonce: string, binding = ''): string {
  return binding
    ? hmacHex(token, CLIENT_LABEL, hostNonce, clientNonce, binding)
    : hmacHex(token, CLIENT_LABEL, hostNonce, clientNonce);
}

export function hostProof(token: string, hostNonce: string, clientNonce: string, binding = ''): string {
  return binding
    ? hmacHex(token, HOST_LABEL, hostNonce, clientNonce, binding)
    : hmacHex(token, HOST_LABEL, hostNonce, clientNonce);
}

/**
 * What the host tells the client of its TLS session before any proof, so that a client whose session
 * differs (a TLS-terminating relay between them) stops before it sends one, and says why. An unkeyed
 * digest: an interceptor that rewrites it still fails the proofs, which cover the binding itself.
 */
export function bindingDigest(binding: string): string {
  return createHmac('sha256', 'p2prc/v1/binding-digest').update(binding).digest('hex');
}

/** Key both sides derive after auth; data connections prove membership of the session with it. */
export function sessionKey(token: string, hostNonce: string, clientNonce: string): Buffer {
  return Buffer.from(hmacHex(token, SESSION_LABEL, hostNonce, clientNonce), 'hex');
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
