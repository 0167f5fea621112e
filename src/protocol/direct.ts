import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Signalling for a direct path between a service's visitor and its owner, carried by the host over
 * both control connections. The host relays it but must not be able to steer it: every description
 * (ICE credentials, candidates, DTLS fingerprint) is bound by HMAC with the service secret, which
 * the host never sees. The answer's MAC covers the offer too, so a host cannot splice an answer
 * from another exchange, and both fresh nonces, so an old one cannot be replayed.
 *
 * Inputs are length-prefixed before hashing: no two different (id, nonce, sdp) tuples hash alike.
 */
export const DIRECT_NONCE_BYTES = 32;
/** A data-channel-only SDP with a dozen candidates is ~1 KiB; anything near this is not one. */
export const MAX_SDP = 8 * 1024;

export interface DirectOffer {
  nonce: string;
  sdp: string;
  mac: string;
}

export type DirectAnswer = DirectOffer;

function mac(label: string, secret: string, parts: Array<string | Buffer>): string {
  const h = createHmac('sha256', secret).update(label);
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

export function signOffer(secret: string, serviceId: string, nonce: string, sdp: string): DirectOffer {
  return { nonce, sdp, mac: mac('p2prc/v1/direct/offer', secret, [serviceId, nonce, sdp]) };
}

export function offerAuthentic(secret: string, serviceId: string, offer: DirectOffer): boolean {
  return equalHex(offer.mac, mac('p2prc/v1/direct/offer', secret, [serviceId, offer.nonce, offer.sdp]));
}

export function signAnswer(
  secret: string,
  serviceId: string,
  offer: DirectOffer,
  nonce: string,
  sdp: string,
): DirectAnswer {
  return { nonce, sdp, mac: mac('p2prc/v1/direct/answer', secret, [serviceId, offer.nonce, offer.sdp, nonce, sdp]) };
}

export function answerAuthentic(secret: string, serviceId: string, offer: DirectOffer, answer: DirectAnswer): boolean {
  return equalHex(
    answer.mac,
    mac('p2prc/v1/direct/answer', secret, [serviceId, offer.nonce, offer.sdp, answer.nonce, answer.sdp]),
  );
}
