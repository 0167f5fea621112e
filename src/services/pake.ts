import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { P2prcError } from '../errors.js';

/**
 * CPace over ristretto255 (draft-irtf-cfrg-cpace, balanced PAKE) for the service handshake between a
 * visitor and a service owner, relayed by a host that must learn nothing. Both derive a generator
 * from the secret, service id and the visitor's fresh session id, exchange y·G, and hash the shared
 * point with the transcript into ISK. Whoever plays the other side (an impostor owner, a visitor
 * without the secret, the host) gets one online guess per handshake and no value to test further
 * guesses against offline: without the right generator, K is unpredictable, and so are both
 * confirmations. Key confirmation and the per-direction keys come from ISK.
 * The library (@noble/curves) does the group arithmetic, hash-to-group (RFC 9380) and point checks.
 */
type Point = InstanceType<typeof ristretto255.Point>;

export const SID_BYTES = 16;
export const ELEMENT_BYTES = 32;
export const CONFIRM_BYTES = 32;
const DST = 'p2prc/v1/service/cpace/ristretto255';
const ORDER = ristretto255.Point.Fn.ORDER;

/** Length-prefixed concatenation, so no field can run into the next. */
function lv(...parts: Array<Buffer | string>): Buffer {
  return Buffer.concat(
    parts.flatMap((p) => {
      const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length, 0);
      return [len, b];
    }),
  );
}

function generator(secret: string, serviceId: string, sid: Buffer): Point {
  return ristretto255_hasher.hashToCurve(lv(secret, serviceId, sid), { DST }) as Point;
}

function randomScalar(): bigint {
  // 64 uniform bytes reduced mod the group order: negligible bias (RFC 9496's approach).
  const s = BigInt(`0x${randomBytes(64).toString('hex')}`) % ORDER;
  return s === 0n ? 1n : s;
}

export interface CpaceParty {
  /** y·G, sent to the other side. */
  element: Buffer;
  /** ISK from the other side's element, or E_AUTH for an invalid or neutral element. */
  finish(theirs: Buffer, visitorElement: Buffer, ownerElement: Buffer): Buffer;
}

export function cpaceStart(secret: string, serviceId: string, sid: Buffer): CpaceParty {
  const y = randomScalar();
  const element = Buffer.from(generator(secret, serviceId, sid).multiply(y).toBytes());
  return {
    element,
    finish(theirs, visitorElement, ownerElement) {
      let point: Point;
      try {
        point = ristretto255.Point.fromBytes(theirs) as Point;
      } catch (err) {
        throw new P2prcError('E_AUTH', 'the peer sent an invalid handshake element', { cause: err });
      }
      const k = point.multiply(y);
      if (k.equals(ristretto255.Point.ZERO))
        throw new P2prcError('E_AUTH', 'the peer sent a neutral handshake element');
      return createHash('sha512')
        .update(lv(`${DST}/isk`, sid, serviceId, Buffer.from(k.toBytes()), visitorElement, ownerElement))
        .digest();
    },
  };
}

export function confirmation(isk: Buffer, role: 'visitor' | 'owner'): Buffer {
  return createHmac('sha256', isk).update(`${DST}/confirm/${role}`).digest();
}

export function confirmationMatches(isk: Buffer, role: 'visitor' | 'owner', received: Buffer): boolean {
  const expected = confirmation(isk, role);
  return received.length === expected.length && timingSafeEqual(received, expected);
}

export function sessionKeys(isk: Buffer): { visitorToOwner: Buffer; ownerToVisitor: Buffer } {
  const okm = Buffer.from(hkdfSync('sha256', isk, Buffer.alloc(0), `${DST}/keys`, 64));
  return { visitorToOwner: okm.subarray(0, 32), ownerToVisitor: okm.subarray(32) };
}
