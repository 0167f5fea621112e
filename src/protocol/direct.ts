import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Signalling for a direct path between a service's visitor and its owner, carried by the host over
 * both control connections. The host relays it but must not be able to steer it, nor learn anything
 * it could test a guessed secret against: every description (ICE credentials, candidates, DTLS
 * fingerprint) is bound by HMAC with a signalling key that both ends derive from a CPace exchange
 * just before (a relayed visit that ends after the handshake). The host sees only MACs under a
 * random-looking key and the key's id; the secret never enters them. The answer's MAC covers the
 * offer too, so a host cannot splice an answer from another exchange, and both fresh nonces, so an
 * old one cannot be replayed.
 *
 * Inputs are length-prefixed before hashing: no two different (id, nonce, sdp) tuples hash alike.
 */
export const DIRECT_NONCE_BYTES = 32;
/** A data-channel-only SDP with a dozen candidates is ~1 KiB; anything near this is not one. */
export const MAX_SDP = 8 * 1024;

export interface DirectAnswer {
  nonce: string;
  sdp: string;
  mac: string;
}

export interface DirectOffer extends DirectAnswer {
  /** Which signalling key the MAC is under (see signallingKey); the owner keeps it for one offer. */
  keyId: string;
}

export interface SignallingKey {
  key: Buffer;
  keyId: string;
}

/**
 * The signalling key of one CPace exchange, from its visitor-to-owner record key (both ends hold
 * it), and the id the offer names it by. Neither reveals the record key or anything about the secret.
 */
export function signallingKey(visitorToOwner: Buffer): SignallingKey {
  return {
    key: createHmac('sha256', visitorToOwner).update('p2prc/v1/direct/signal-key').digest(),
    keyId: createHmac('sha256', visitorToOwner).update('p2prc/v1/direct/key-id').digest('hex'),
  };
}

function mac(label: string, key: Buffer, parts: Array<string | Buffer>): string {
  const h = createHmac('sha256', key).update(label);
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length, 0);
    h.update(len).update(b);
  }
  return h.digest('hex');
}

function equalHex(a: string, b: string): boolean {
  return /^[0-9a-f]{64}$/.test(a) && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

export function newDirectNonce(): string {
  return randomBytes(DIRECT_NONCE_BYTES).toString('hex');
}

export function signOffer(k: SignallingKey, serviceId: string, nonce: string, sdp: string): DirectOffer {
  return { keyId: k.keyId, nonce, sdp, mac: mac('p2prc/v2/direct/offer', k.key, [serviceId, k.keyId, nonce, sdp]) };
}

export function offerAuthentic(key: Buffer, serviceId: string, offer: DirectOffer): boolean {
  return equalHex(offer.mac, mac('p2prc/v2/direct/offer', key, [serviceId, offer.keyId, offer.nonce, offer.sdp]));
}

export function signAnswer(
  key: Buffer,
  serviceId: string,
  offer: DirectOffer,
  nonce: string,
  sdp: string,
): DirectAnswer {
  return { nonce, sdp, mac: mac('p2prc/v2/direct/answer', key, [serviceId, offer.nonce, offer.sdp, nonce, sdp]) };
}

export function answerAuthentic(key: Buffer, serviceId: string, offer: DirectOffer, answer: DirectAnswer): boolean {
  return equalHex(
    answer.mac,
    mac('p2prc/v2/direct/answer', key, [serviceId, offer.nonce, offer.sdp, answer.nonce, answer.sdp]),
  );
}
