import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { P2prcError } from '../errors.js';
import { lv } from '../protocol/lv.js';

/**
 * CPace over ristretto255 (draft-irtf-cfrg-cpace, balanced PAKE) for the service handshake between a
 * visitor and a service owner, relayed by a host that must learn nothing. Both derive a generator
 * from the secret, service id and the visitor's fresh session id, exchange y·G, and hash the shared
 * point with the transcript into ISK. Whoever plays the other side (an impostor owner, a visitor
 * without the secret, the host) gets one online guess per handshake and no value to test further
 * guesses against offline: without the right generator, K is unpredictable, and so are both
 * confirmations. Key confirmation and the per-direction keys come from ISK.
 * The library (@noble/curves) does the group arithmetic, hash-to-group (RFC 9380) and point checks.
 *
 * Departures from draft-irtf-cfrg-cpace (ristretto255, SHA-512): the group operations are the draft's
 * (element derivation, scalar_mult, scalar_mult_vfy with its abort on the neutral element), checked
 * against its vectors in test/services/pake.test.ts; the strings hashed around them are p2prc's. The
 * generator is RFC 9380 hash_to_ristretto255 of lv(PRS, CI, sid) under DST, not SHA-512 of the draft's
 * generator_string (DSI, LEB128 lengths, the PRS padded to fill the first hash block so that no public
 * input shares a block with it); CI is the service id alone and ADa, ADb are empty (the host hides both
 * parties, and the visitor always sends first, so Ya and Yb have fixed places); ISK is SHA-512 of
 * lv(DST/isk, sid, CI, K, Ya, Yb), not lv_cat(DSI || "_ISK", sid, K) || transcript_ir(Ya, ADa, Yb, ADb);
 * confirmation is an HMAC of a role label under ISK, not a MAC of each party's own message. Every field
 * is length-prefixed under a label of its own, as the draft asks of its encodings; they stay as they are
 * because any change alters every handshake and would break it between peers of different versions.
 */
type Point = InstanceType<typeof ristretto255.Point>;

export const SID_BYTES = 16;
export const ELEMENT_BYTES = 32;
export const CONFIRM_BYTES = 32;
const DST = 'p2prc/v1/service/cpace/ristretto255';
const ORDER = ristretto255.Point.Fn.ORDER;

/** The draft's calculate_generator, by p2prc's encoding (see above). */
export function generator(secret: string, serviceId: string, sid: Buffer): Point {
  return ristretto255_hasher.hashToCurve(lv(secret, serviceId, sid), { DST }) as Point;
}

/** The draft's G.scalar_mult: y·g, encoded. */
export function scalarMult(y: bigint, g: Point): Buffer {
  return Buffer.from(g.multiply(y).toBytes());
}

/**
 * The draft's G.scalar_mult_vfy, where returning G.I means aborting: y·X for an encoded X, or E_AUTH
 * when X is no canonical encoding of a group element, or when the result is the neutral element.
 */
export function scalarMultVfy(y: bigint, encoded: Buffer): Buffer {
  let point: Point;
  try {
    point = ristretto255.Point.fromBytes(encoded) as Point;
  } catch (err) {
    throw new P2prcError('E_AUTH', 'the peer sent an invalid handshake element', { cause: err });
  }
  const k = point.multiply(y);
  if (k.equals(ristretto255.Point.ZERO)) throw new P2prcError('E_AUTH', 'the peer sent a neutral handshake element');
  return Buffer.from(k.toBytes());
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

/** One side of a handshake; `y` is its secret scalar, fresh unless a known-answer test fixes it. */
export function cpaceStart(secret: string, serviceId: string, sid: Buffer, y = randomScalar()): CpaceParty {
  const element = scalarMult(y, generator(secret, serviceId, sid));
  return {
    element,
    finish(theirs, visitorElement, ownerElement) {
      const k = scalarMultVfy(y, theirs);
      return createHash('sha512')
        .update(lv(`${DST}/isk`, sid, serviceId, k, visitorElement, ownerElement))
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
