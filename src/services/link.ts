import type net from 'node:net';
import { raiseHeapTrimThreshold } from '../transport/heap-trim.js';
import { randomBytes } from 'node:crypto';
import type { Duplex, Readable } from 'node:stream';
import { P2prcError, toP2prcError } from '../errors.js';
import { readExact as readBytes } from '../transport/read.js';
import { MAX_RECORD, MAX_RECORD_LARGE, Opener, Sealer } from './e2e.js';
import { sealedRelay } from './sealed-relay.js';
import {
  NONCE_BYTES,
  TICKET_ID_BYTES,
  isStaleResumption,
  resumeSecret,
  resumedKeys,
  ticketFrom,
  visitorNonce,
  type Ticket,
  type TicketStore,
} from './resume.js';

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
  /** A full handshake's secret for a resumption ticket (resume.ts). */
  resume?: Buffer;
  /** Keys of a resumed handshake: both ends are current, and take records of up to 64 KB. */
  resumed?: boolean;
}

/**
 * Visitor side of the CPace handshake (pake.ts): sends sid | element, reads the owner's
 * element | confirmation, checks it, then confirms too.
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
  return { send: k.visitorToOwner, receive: k.ownerToVisitor, resume: resumeSecret(isk) };
}

/**
 * Visitor side of a resumed handshake (resume.ts). Any failure (the owner dropped the ticket and
 * hung up, a wrong confirmation) is E_CLOSED: the caller drops the ticket and runs a full handshake.
 */
export async function visitorResume(socket: net.Socket, ticket: Ticket): Promise<LinkKeys> {
  const nv = visitorNonce();
  socket.write(Buffer.concat([ticket.id, nv]));
  const reply = await readBytes(socket, NONCE_BYTES + 32, {
    what: 'resumed service handshake',
    timeoutMs: HANDSHAKE_TIMEOUT_MS,
    closed: () => new P2prcError('E_CLOSED', 'the owner no longer holds the resumption ticket'),
  });
  const keys = resumedKeys(ticket.key, ticket.id, nv, reply.subarray(0, NONCE_BYTES));
  if (!keys.matches('owner', reply.subarray(NONCE_BYTES)))
    throw new P2prcError('E_CLOSED', 'the owner did not confirm the resumption ticket');
  socket.write(keys.confirm('visitor'));
  return { send: keys.visitorToOwner, receive: keys.ownerToVisitor, resumed: true };
}

/** An owner's answer to a visitor's handshake: keys, or a refusal that was a wrong secret (`guessed`) or not. */
export type OwnerAccept = { keys: LinkKeys } | { keys: undefined; guessed: boolean };

/**
 * Owner side: a full handshake, or the resumption of one of `tickets`. A visitor that cannot confirm
 * gets no keys, and nothing reaches the service; only a failed full handshake was a guess at the secret.
 */
export async function ownerAccept(
  socket: Duplex,
  secret: string,
  serviceId: string,
  tickets?: TicketStore,
): Promise<OwnerAccept> {
  const hello = await readExact(socket, TICKET_ID_BYTES + NONCE_BYTES, 'visitor handshake');
  const ticket = tickets?.find(hello.subarray(0, TICKET_ID_BYTES));
  if (ticket) return ownerResume(socket, ticket, hello.subarray(TICKET_ID_BYTES));
  if (isStaleResumption(hello)) return { keys: undefined, guessed: false };
  const keys = await ownerFullHandshake(socket, hello, secret, serviceId);
  return keys ? { keys } : { keys: undefined, guessed: true };
}

/** Owner side without tickets: a full handshake; undefined for a visitor that could not confirm. */
export async function ownerHandshake(socket: Duplex, secret: string, serviceId: string): Promise<LinkKeys | undefined> {
  return (await ownerAccept(socket, secret, serviceId)).keys;
}

async function ownerFullHandshake(
  socket: Duplex,
  hello: Buffer,
  secret: string,
  serviceId: string,
): Promise<LinkKeys | undefined> {
  const { CONFIRM_BYTES, SID_BYTES, confirmation, confirmationMatches, cpaceStart, sessionKeys } = await loadPake();
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
  return { send: k.ownerToVisitor, receive: k.visitorToOwner, resume: resumeSecret(isk) };
}

async function ownerResume(socket: Duplex, ticket: Ticket, nv: Buffer): Promise<OwnerAccept> {
  const no = randomBytes(NONCE_BYTES);
  const keys = resumedKeys(ticket.key, ticket.id, nv, no);
  socket.write(Buffer.concat([no, keys.confirm('owner')]));
  const confirm = await readExact(socket, 32, 'visitor confirmation').catch(() => undefined);
  if (!confirm || !keys.matches('visitor', confirm)) return { keys: undefined, guessed: false };
  return { keys: { send: keys.ownerToVisitor, receive: keys.visitorToOwner, resumed: true } };
}

/** The visitor's first sealed record carries this byte: the owner connects its service only then. */
export const START_MARKER = 1;
/**
 * Or this one: the visit was only for the handshake, whose keys give both ends the signalling key
 * of a direct-path offer that follows (protocol/direct.ts); the owner keeps the key and hangs up.
 */
export const SIGNAL_MARKER = 2;
/**
 * Or this one, after a full handshake: the owner keeps a resumption ticket (resume.ts), answers with
 * the same byte and hangs up. An owner before tickets hangs up without answering.
 */
export const TICKET_MARKER = 3;

/** A sealer for these keys: large records when both ends are known to take them. */
export function sealerFor(keys: LinkKeys): Sealer {
  return new Sealer(keys.send, keys.resumed ? MAX_RECORD_LARGE : MAX_RECORD);
}

/**
 * The plaintext of the first record(s) on `link`, at least one byte, read through `opener` (which
 * keeps any ciphertext read beyond them); `link` is left paused. A link that ends first is E_CLOSED.
 */
export function readFirst(link: Duplex, opener: Opener, what: string): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new P2prcError('E_TIMEOUT', `no ${what} within ${HANDSHAKE_TIMEOUT_MS} ms`)),
      HANDSHAKE_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      try {
        const plain = opener.push(chunk);
        if (plain.length > 0) done(undefined, plain);
        else if (opener.finished) done(new P2prcError('E_CLOSED', `the peer ended before the ${what}`));
      } catch (err) {
        done(err as Error);
      }
    };
    const onClose = () => done(new P2prcError('E_CLOSED', `closed before the ${what}`));
    function done(err?: Error, plain?: Buffer[]) {
      clearTimeout(timer);
      link.off('data', onData);
      link.off('end', onClose);
      link.off('close', onClose);
      link.off('error', onClose);
      link.pause();
      if (err) reject(err);
      else resolve(plain!);
    }
    link.on('data', onData);
    link.once('end', onClose);
    link.once('close', onClose);
    link.once('error', onClose);
    link.resume();
  });
}

/** Sends one marker record and ends the visitor's side, sealed and on the socket. */
function sendMarker(link: Duplex, keys: LinkKeys, marker: number): void {
  const seal = sealerFor(keys);
  link.end(Buffer.concat([seal.seal(Buffer.from([marker])), seal.end()]));
}

/**
 * Visitor: after the handshake, asks for a signalling key instead of a connection, and waits for the
 * owner to hang up, which it does once it holds the key: the offer that follows cannot overtake it.
 */
export async function endWithSignalMarker(link: Duplex, keys: LinkKeys): Promise<void> {
  const closed = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new P2prcError('E_TIMEOUT', 'the owner kept no signalling key')),
      HANDSHAKE_TIMEOUT_MS,
    );
    link.once('close', () => (clearTimeout(timer), resolve()));
  });
  link.resume();
  sendMarker(link, keys, SIGNAL_MARKER);
  await closed;
}

/**
 * Visitor: after a full handshake, asks the owner to keep a resumption ticket. The ticket, once the
 * owner said it keeps it; undefined from an owner that keeps none (it hung up without answering).
 */
export async function requestTicket(link: net.Socket, keys: LinkKeys): Promise<Ticket | undefined> {
  if (!keys.resume) return undefined;
  sendMarker(link, keys, TICKET_MARKER);
  const answer = await readFirst(link, new Opener(keys.receive), 'ticket answer').catch((err: unknown) => {
    if (err instanceof P2prcError && err.code === 'E_CLOSED') return undefined;
    throw err;
  });
  if (!answer) return undefined;
  if (answer[0]![0] !== TICKET_MARKER) throw new P2prcError('E_PROTOCOL', 'unexpected answer to a ticket request');
  return ticketFrom(keys.resume);
}

/** Owner: keeps the ticket of a full handshake and says so. */
export function grantTicket(link: Duplex, keys: LinkKeys, tickets: TicketStore): void {
  tickets.add(ticketFrom(keys.resume!));
  const seal = sealerFor(keys);
  link.end(Buffer.concat([seal.seal(Buffer.from([TICKET_MARKER])), seal.end()]));
}

/**
 * Plaintext `local` <-> sealed records on `link`. On the owner, `opener` has read the start marker
 * already and `toLocal` is the plaintext that came with it. Any failure, a tampered record included,
 * closes both sides and is passed once to `onFailure`: the record layer's own code (E_AUTH for a
 * tampered record), or E_CLOSED for a socket that reset or closed early, which is how connections
 * normally end. The visitor's `first` byte (the start marker) leaves sealed before anything else.
 */
export function secureRelay(
  link: Duplex,
  local: net.Socket,
  keys: LinkKeys,
  o: { opener?: Opener; toLocal?: Buffer[]; first?: number } = {},
  onFailure?: (err: P2prcError) => void,
): void {
  raiseHeapTrimThreshold();
  const sealer = sealerFor(keys);
  if (o.first !== undefined) link.write(sealer.seal(Buffer.from([o.first])));
  sealedRelay(link, local, {
    sealer,
    opener: o.opener ?? new Opener(keys.receive),
    toLocal: o.toLocal ?? [],
    onFailure: (err) => onFailure?.(toP2prcError(err, 'E_CLOSED')),
  });
}
