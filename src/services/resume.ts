import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Resuming a service handshake. A full CPace handshake costs each side a few milliseconds of curve
 * arithmetic, which bounded how fast a visitor could open connections. After one, the visitor may ask
 * the owner for a ticket (the TICKET marker, link.ts): both derive its id and key from ISK, the owner
 * keeps them for TICKET_TTL_MS, and later connections open with fresh nonces from both sides and a
 * few HMACs instead:
 *
 *   visitor → owner   id (16) | Nv (32, first byte odd)      same size as a full handshake's sid | Ya
 *   owner → visitor   No (32) | confirm_owner (32)            same size as Yb | confirm
 *   visitor → owner   confirm_visitor (32)
 *   keys: HKDF-SHA256(ticket key, salt id | Nv | No) → visitor→owner key, owner→visitor key, MAC key
 *
 * An owner tells a resumption from a full handshake by the id (a random sid matches a live ticket with
 * probability 2^-128); Nv's odd first byte is never a valid ristretto255 encoding, so an owner that no
 * longer holds the ticket sees a stale resumption, not a wrong secret, and closes without counting a
 * guess. The host, which sees the id, can neither open the keys (it lacks the ticket key) nor replay a
 * connection (the owner's nonce is fresh). Resumed connections are forward secret only as far as the
 * ticket is: whoever takes it from the owner's memory within its lifetime can read what it keyed.
 */
const DST = 'p2prc/v1/service/resume';
export const TICKET_ID_BYTES = 16;
export const NONCE_BYTES = 32;
export const TICKET_TTL_MS = 60 * 60 * 1000;
const MAX_TICKETS = 1024;

export interface Ticket {
  id: Buffer;
  key: Buffer;
  /** Date.now() after which neither side uses it. */
  expires: number;
}

const hkdf = (ikm: Buffer, salt: Buffer, label: string, n: number): Buffer =>
  Buffer.from(hkdfSync('sha256', ikm, salt, `${DST}/${label}`, n));

/** The secret a full handshake leaves for a ticket (from ISK; never sent). */
export function resumeSecret(isk: Buffer): Buffer {
  return hkdf(isk, Buffer.alloc(0), 'secret', 32);
}

export function ticketFrom(secret: Buffer, now = Date.now()): Ticket {
  return {
    id: hkdf(secret, Buffer.alloc(0), 'id', TICKET_ID_BYTES),
    key: hkdf(secret, Buffer.alloc(0), 'key', 32),
    expires: now + TICKET_TTL_MS,
  };
}

/** A visitor's nonce: random, its first byte odd (see above). */
export function visitorNonce(): Buffer {
  const n = randomBytes(NONCE_BYTES);
  n[0]! |= 1;
  return n;
}

/** A first message that is no full handshake: a resumption of a ticket the owner does not hold. */
export function isStaleResumption(hello: Buffer): boolean {
  return (hello[TICKET_ID_BYTES]! & 1) === 1;
}

export interface ResumedKeys {
  visitorToOwner: Buffer;
  ownerToVisitor: Buffer;
  confirm(role: 'visitor' | 'owner'): Buffer;
  matches(role: 'visitor' | 'owner', received: Buffer): boolean;
}

export function resumedKeys(ticketKey: Buffer, id: Buffer, nv: Buffer, no: Buffer): ResumedKeys {
  const okm = hkdf(ticketKey, Buffer.concat([id, nv, no]), 'keys', 96);
  const mac = okm.subarray(64);
  const confirm = (role: 'visitor' | 'owner') => createHmac('sha256', mac).update(`${DST}/confirm/${role}`).digest();
  return {
    visitorToOwner: okm.subarray(0, 32),
    ownerToVisitor: okm.subarray(32, 64),
    confirm,
    matches: (role, received) => {
      const expected = confirm(role);
      return received.length === expected.length && timingSafeEqual(received, expected);
    },
  };
}

/** An owner's tickets for one service: at most MAX_TICKETS, the oldest dropped first, each for its lifetime. */
export class TicketStore {
  private readonly tickets = new Map<string, Ticket>();

  constructor(private readonly now: () => number = Date.now) {}

  add(t: Ticket): void {
    const key = t.id.toString('hex');
    this.tickets.delete(key);
    this.tickets.set(key, t);
    if (this.tickets.size > MAX_TICKETS) this.tickets.delete(this.tickets.keys().next().value!);
  }

  /** The live ticket with this id, if any. */
  find(id: Buffer): Ticket | undefined {
    const key = id.toString('hex');
    const t = this.tickets.get(key);
    if (t && t.expires <= this.now()) {
      this.tickets.delete(key);
      return undefined;
    }
    return t;
  }

  get size(): number {
    return this.tickets.size;
  }
}
