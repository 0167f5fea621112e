import type net from 'node:net';
import { raiseHeapTrimThreshold } from '../transport/heap-trim.js';
import { randomBytes } from 'node:crypto';
import { pipeline, type Duplex, type Readable } from 'node:stream';
import { P2prcError, toP2prcError } from '../errors.js';
import { readExact as readBytes } from '../transport/read.js';
import { OpenStream, SealStream } from './e2e.js';

/**
 * CPace needs @noble/curves, whose curve set-up runs as the module loads (about 15 ms, a tenth of a bare
 * Node start): it is loaded with the first private-service handshake, not by every command that loads
 * the library.
 */
const loadPake = (): Promise<typeof import('./pake.js')> => import('./pake.js');

const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Reads exactly n bytes of the service handshake; the peer closing first means the secret was refused. */
export function readExact(
  socket: Readable,
  n: number,
  what: string,
  timeoutMs = HANDSHAKE_TIMEOUT_MS,
): Promise<Buffer> {
  return readBytes(socket, n, {
    what,
    timeoutMs,
    closed: () =>
      new P2prcError('E_AUTH', `connection closed before the ${what} (wrong secret, or the service refused)`),
  });
}

export interface LinkKeys {
  send: Buffer;
  receive: Buffer;
}

/**
 * Visitor side of the CPace handshake (protocol/pake.ts): sends sid | element, reads the owner's
 * element | confirmation, checks it, then confirms too. The result has the same shape as before
 * (LinkKeys), so whatever runs over these keys (the sealed relay, direct channels) is unchanged.
 */
export async function visitorHandshake(socket: net.Socket, secret: string, serviceId: string): Promise<LinkKeys> {
  const { CONFIRM_BYTES, ELEMENT_BYTES, SID_BYTES, confirmation, confirmationMatches, cpaceStart, sessionKeys } =
    await loadPake();
  const sid = randomBytes(SID_BYTES);
  const me = cpaceStart(secret, serviceId, sid);
  socket.write(Buffer.concat([sid, me.element]));
  const reply = await readExact(socket, ELEMENT_BYTES + CONFIRM_BYTES, 'service handshake');
  const theirs = reply.subarray(0, ELEMENT_BYTES);
  const isk = me.finish(theirs, me.element, theirs);
  if (!confirmationMatches(isk, 'owner', reply.subarray(ELEMENT_BYTES)))
    // The owner's confirmation is keyed by its secret: it differs from ours. Almost always a wrong
    // --secret; it could also be an owner that changed its secret, never "the service is down".
    throw new P2prcError('E_SECRET', `the secret was not accepted (wrong secret for service ID ${serviceId})`);
  socket.write(confirmation(isk, 'visitor'));
  const k = sessionKeys(isk);
  return { send: k.visitorToOwner, receive: k.ownerToVisitor };
}

/** Owner side: a visitor that cannot confirm resolves undefined and nothing reaches the service. */
export async function ownerHandshake(socket: Duplex, secret: string, serviceId: string): Promise<LinkKeys | undefined> {
  const { CONFIRM_BYTES, ELEMENT_BYTES, SID_BYTES, confirmation, confirmationMatches, cpaceStart, sessionKeys } =
    await loadPake();
  const hello = await readExact(socket, SID_BYTES + ELEMENT_BYTES, 'visitor handshake');
  const sid = hello.subarray(0, SID_BYTES);
  const theirs = hello.subarray(SID_BYTES);
  const me = cpaceStart(secret, serviceId, sid);
  let isk: Buffer;
  try {
    isk = me.finish(theirs, theirs, me.element);
  } catch {
    return undefined;
  }
  socket.write(Buffer.concat([me.element, confirmation(isk, 'owner')]));
  // A visitor with the wrong secret finds our confirmation wrong and hangs up: that is its failed guess.
  const confirm = await readExact(socket, CONFIRM_BYTES, 'visitor confirmation').catch((err: unknown) => {
    if (err instanceof P2prcError && err.code === 'E_AUTH') return undefined;
    throw err;
  });
  if (!confirm || !confirmationMatches(isk, 'visitor', confirm)) return undefined;
  const k = sessionKeys(isk);
  return { send: k.ownerToVisitor, receive: k.visitorToOwner };
}

/** The visitor's first sealed record carries this byte: the owner connects its service only then. */
export const START_MARKER = Buffer.from([1]);
/**
 * Or this one: the visit was only for the handshake, whose keys give both ends the signalling key
 * of a direct-path offer that follows (protocol/direct.ts); the owner keeps the key and hangs up.
 */
export const SIGNAL_MARKER = Buffer.from([2]);

/**
 * Visitor: after the handshake, asks for a signalling key instead of a connection, and waits for the
 * owner to hang up, which it does once it holds the key: the offer that follows cannot overtake it.
 */
export async function endWithSignalMarker(link: Duplex, keys: LinkKeys): Promise<void> {
  const seal = new SealStream(keys.send);
  seal.pipe(link);
  link.resume();
  const closed = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new P2prcError('E_TIMEOUT', 'the owner kept no signalling key')),
      HANDSHAKE_TIMEOUT_MS,
    );
    link.once('close', () => (clearTimeout(timer), resolve()));
  });
  seal.end(SIGNAL_MARKER);
  await closed;
}

/**
 * Plaintext `local` <-> sealed records on `link`. `open` may already be fed from `link` (the owner reads
 * the start marker through it first). Any failure, a tampered record included, closes both sides and
 * is passed once to `onFailure`: the record layer's own code (E_AUTH for a tampered record), or
 * E_CLOSED for a socket that reset or closed early, which is how connections normally end.
 */
export function secureRelay(
  link: Duplex,
  local: net.Socket,
  keys: LinkKeys,
  open?: OpenStream,
  first?: Buffer,
  onFailure?: (err: P2prcError) => void,
): void {
  raiseHeapTrimThreshold();
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
