import {
  createHash,
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { P2prcError } from '../errors.js';
import { lv } from './lv.js';

/**
 * The control connection's token check: CPace over X25519 (draft-irtf-cfrg-cpace, CPACE-X25519-SHA512),
 * keyed by the token and bound to the TLS session. The client sends y·G in its Hello; the host answers
 * with its own element and a confirmation; the client confirms back. A host or client without the
 * token gets one online guess per connection and nothing it can test further guesses against offline,
 * so a client may try its token on a host it learned from a peer and never confirmed. A relay that
 * terminates TLS on each side derives two different generators (the binding is in CI) and both
 * confirmations fail.
 *
 * X25519 is node:crypto's (OpenSSL refuses an all-zero result, the draft's scalar_mult_vfy abort); the
 * Elligator 2 map (RFC 9380 section 6.7.1, Z = 2) is a few lines of BigInt arithmetic below, which
 * keeps a curve library out of every client's and host's start. Departures from the draft: the generator's field
 * element is SHA-512 of lv(DST, PRS, CI, sid) (first 32 bytes, little-endian, top bit cleared), not
 * of the draft's generator_string; ISK is SHA-512 of lv(DST/isk, sid, CI, AD, K, Ya, Yb), where AD
 * covers the client id, user and host nonce; confirmations are HMACs of role labels under ISK.
 */
const DST = 'p2prc/v2/control/cpace/x25519';
const P = 2n ** 255n - 19n;
const A = 486662n;
export const ELEMENT_BYTES = 32;

/** From JWK: an order of magnitude cheaper than parsing DER here (about 0.01 ms against 0.1). */
function publicKeyOf(u: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: u.toString('base64url') }, format: 'jwk' });
}

function mod(x: bigint): bigint {
  const r = x % P;
  return r < 0n ? r + P : r;
}

const MASK = 2n ** 255n - 1n;

/** x mod p for 0 <= x < 2^510, by 2^255 = 19 (mod p): a shift and a multiply instead of a division. */
function reduce(x: bigint): bigint {
  x = (x & MASK) + 19n * (x >> 255n);
  x = (x & MASK) + 19n * (x >> 255n);
  return x >= P ? x - P : x;
}

/** base^exponent mod p, four exponent bits at a time (the exponents here are mostly ones). */
function pow(base: bigint, exponent: bigint): bigint {
  const table = [1n, mod(base)];
  for (let i = 2; i < 16; i++) table.push(reduce(table[i - 1]! * table[1]!));
  let result = 1n;
  for (let shift = 252n; shift >= 0n; shift -= 4n) {
    for (let i = 0; i < 4; i++) result = reduce(result * result);
    const digit = Number((exponent >> shift) & 15n);
    if (digit) result = reduce(result * table[digit]!);
  }
  return result;
}

/**
 * RFC 9380's map_to_curve_elligator2 for curve25519 (A = 486662, Z = 2), u-coordinate only: x1 =
 * -A / (1 + 2t²) (-A when the denominator is 0), and x1 when x1³ + A·x1² + x1 is a square, else -x1 - A.
 */
export function elligator2(t: bigint): bigint {
  const denominator = mod(1n + 2n * t * t);
  const x1 = denominator === 0n ? mod(-A) : mod(-A * pow(denominator, P - 2n));
  const gx1 = mod(x1 * x1 * x1 + A * x1 * x1 + x1);
  const square = gx1 === 0n || pow(gx1, (P - 1n) / 2n) === 1n;
  return square ? x1 : mod(-x1 - A);
}

/** The generator's u-coordinate: Elligator 2 of a hash of the token, channel binding and session id. */
export function controlGenerator(token: string, binding: string, sid: Buffer): Buffer {
  const h = createHash('sha512')
    .update(lv(DST, token, binding, sid))
    .digest()
    .subarray(0, 32);
  h[31]! &= 0x7f;
  const u = elligator2(mod(BigInt(`0x${Buffer.from(h).reverse().toString('hex')}`)));
  return Buffer.from(u.toString(16).padStart(64, '0'), 'hex').reverse();
}

/** X25519(y, u), or E_AUTH for a u whose product is the neutral element (a small-order point). */
function scalarMultVfy(privateKey: KeyObject, u: Buffer): Buffer {
  try {
    return diffieHellman({ privateKey, publicKey: publicKeyOf(u) });
  } catch (err) {
    throw new P2prcError('E_AUTH', 'the peer sent an invalid token-check element', { cause: err });
  }
}

export interface ControlKeys {
  /** The host's proof, sent with its element in the Challenge. */
  hostConfirm: Buffer;
  /** The client's proof, sent in Auth once the host's checked out. */
  clientConfirm: Buffer;
  /** Keys the session's data connections (their per-connection proofs). */
  sessionKey: Buffer;
}

export interface ControlPake {
  /** y·G, sent to the other side. */
  element: Buffer;
  /** Both proofs and the session key from the other side's element; E_AUTH for an invalid one. */
  finish(theirs: Buffer, clientElement: Buffer, hostElement: Buffer, ad: ControlAd): ControlKeys;
}

/** What both sides bind into the keys besides the elements: the Hello's claims and the host's nonce. */
export interface ControlAd {
  clientId: string;
  user: string;
  hostNonce: string;
}

/** One side of the control handshake; `sid` is the client's fresh 32-byte nonce, `binding` the TLS exporter value ('' in plaintext). */
export function controlPakeStart(token: string, binding: string, sid: Buffer): ControlPake {
  const { privateKey } = generateKeyPairSync('x25519');
  const element = scalarMultVfy(privateKey, controlGenerator(token, binding, sid));
  return {
    element,
    finish(theirs, clientElement, hostElement, ad) {
      if (theirs.length !== ELEMENT_BYTES)
        throw new P2prcError('E_AUTH', 'the peer sent a token-check element of the wrong size');
      const k = scalarMultVfy(privateKey, theirs);
      const isk = createHash('sha512')
        .update(lv(`${DST}/isk`, sid, binding, lv(ad.clientId, ad.user, ad.hostNonce), k, clientElement, hostElement))
        .digest();
      const mac = (label: string) => createHmac('sha256', isk).update(`${DST}/${label}`).digest();
      return {
        hostConfirm: mac('confirm/host'),
        clientConfirm: mac('confirm/client'),
        sessionKey: Buffer.from(hkdfSync('sha256', isk, Buffer.alloc(0), `${DST}/session`, 32)),
      };
    },
  };
}

export function confirmEqual(expected: Buffer, receivedHex: string): boolean {
  const received = Buffer.from(receivedHex, 'hex');
  return received.length === expected.length && timingSafeEqual(received, expected);
}

/** AuthOk's proof: the session id came from the host that finished the exchange. */
export function acceptProof(sessionKey: Buffer, sessionId: string): string {
  return createHmac('sha256', sessionKey).update(`${DST}/accept`).update(sessionId).digest('hex');
}

/** The first release whose hosts and clients check tokens this way; either side names it to an older peer. */
export const CONTROL_AUTH_SINCE = '0.2.0';
