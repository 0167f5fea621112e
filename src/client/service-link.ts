import type net from 'node:net';
import { randomBytes } from 'node:crypto';
import { pipeline, type Duplex, type Readable } from 'node:stream';
import { P2prcError, toP2prcError } from '../errors.js';
import { readExact as readBytes } from '../transport/read.js';
import { NONCE_BYTES, OpenStream, SealStream, deriveKeys, ownerProof, proofMatches, visitorProof } from '../protocol/e2e.js';

const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Reads exactly n bytes of the service handshake; the peer closing first means the secret was refused. */
export function readExact(socket: Readable, n: number, what: string, timeoutMs = HANDSHAKE_TIMEOUT_MS): Promise<Buffer> {
  return readBytes(socket, n, { what, timeoutMs, closed: () => new P2prcError('E_AUTH', `connection closed before the ${what} (wrong secret, or the service refused)`) });
}

export interface LinkKeys {
  send: Buffer;
  receive: Buffer;
}

/** Visitor side: proves the secret first, then checks the owner's proof. */
export async function visitorHandshake(socket: net.Socket, secret: string, serviceId: string): Promise<LinkKeys> {
  const nV = randomBytes(NONCE_BYTES);
  socket.write(nV);
  const nO = await readExact(socket, NONCE_BYTES, 'service nonce');
  socket.write(visitorProof(secret, serviceId, nV, nO));
  const theirs = await readExact(socket, 32, 'service proof');
  if (!proofMatches(theirs, ownerProof(secret, serviceId, nV, nO))) throw new P2prcError('E_AUTH', `service ${serviceId} could not prove it knows the secret`);
  const k = deriveKeys(secret, serviceId, nV, nO);
  return { send: k.visitorToOwner, receive: k.ownerToVisitor };
}

/** Owner side: checks the visitor's proof; a wrong one resolves undefined and nothing reaches the service. */
export async function ownerHandshake(socket: Duplex, secret: string, serviceId: string): Promise<LinkKeys | undefined> {
  const nV = await readExact(socket, NONCE_BYTES, 'visitor nonce');
  const nO = randomBytes(NONCE_BYTES);
  socket.write(nO);
  const theirs = await readExact(socket, 32, 'visitor proof');
  if (!proofMatches(theirs, visitorProof(secret, serviceId, nV, nO))) return undefined;
  socket.write(ownerProof(secret, serviceId, nV, nO));
  const k = deriveKeys(secret, serviceId, nV, nO);
  return { send: k.ownerToVisitor, receive: k.visitorToOwner };
}

/** The visitor's first sealed record carries this byte: the owner connects its service only then. */
export const START_MARKER = Buffer.from([1]);

/**
 * Plaintext `local` <-> sealed records on `link`. `open` may already be fed from `link` (the owner reads
 * the start marker through it first). Any failure, a tampered record included, closes both sides and
 * is passed once to `onFailure`: the record layer's own code (E_AUTH for a tampered record), or
 * E_CLOSED for a socket that reset or closed early, which is how connections normally end.
 */
export function secureRelay(link: Duplex, local: net.Socket, keys: LinkKeys, open?: OpenStream, first?: Buffer, onFailure?: (err: P2prcError) => void): void {
  let failed = false;
  const done = (err?: Error | null) => {
    if (!err) return;
    link.destroy();
    local.destroy();
    // The first error is the cause; the others are the pipelines torn down by the destroys above.
    if (failed) return;
    failed = true;
    onFailure?.(toP2prcError(err, 'E_CLOSED'));
  };
  let opener = open;
  if (!opener) {
    opener = new OpenStream(keys.receive);
    pipeline(link, opener, done);
  }
  pipeline(opener, local, done);
  const seal = new SealStream(keys.send);
  if (first) seal.write(first);
  pipeline(local, seal, link, done);
}
