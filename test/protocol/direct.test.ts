import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_SDP,
  answerAuthentic,
  newDirectNonce,
  offerAuthentic,
  signAnswer,
  signOffer,
  signallingKey,
} from '../../src/protocol/direct.js';
import { randomBytes, createHmac } from 'node:crypto';
import { decodeMessage, encodeMessage } from '../../src/protocol/messages.js';
import { FrameDecoder } from '../../src/protocol/frame.js';

const SDP =
  'v=0\r\na=ice-ufrag:abcd\r\na=fingerprint:sha-256 AA:BB\r\na=candidate:1 1 UDP 2114977791 192.0.2.7 40000 typ host\r\n';

function roundTrip(buf: Buffer) {
  const d = new FrameDecoder();
  d.write(buf);
  return decodeMessage(d.read()!);
}

/** A signalling key as a CPace exchange gives both ends (its visitor-to-owner record key is random). */
const k = () => signallingKey(randomBytes(32));

describe('direct-path signalling MACs', () => {
  it('an offer and its answer verify with the signalling key, and fail with any field or the key changed', () => {
    const key = k();
    const offer = signOffer(key, 'db', newDirectNonce(), SDP);
    expect(offer.keyId).toBe(key.keyId);
    expect(offerAuthentic(key.key, 'db', offer)).toBe(true);
    const answer = signAnswer(key.key, 'db', offer, newDirectNonce(), SDP.replace('192.0.2.7', '198.51.100.9'));
    expect(answerAuthentic(key.key, 'db', offer, answer)).toBe(true);
    expect(offerAuthentic(k().key, 'db', offer)).toBe(false);
    expect(offerAuthentic(key.key, 'db2', offer)).toBe(false);
    expect(offerAuthentic(key.key, 'db', { ...offer, sdp: offer.sdp.replace('40000', '40001') })).toBe(false);
    expect(offerAuthentic(key.key, 'db', { ...offer, nonce: newDirectNonce() })).toBe(false);
    expect(offerAuthentic(key.key, 'db', { ...offer, keyId: k().keyId })).toBe(false);
    expect(offerAuthentic(key.key, 'db', { ...offer, mac: 'zz' })).toBe(false);
    // an answer spliced onto another offer does not verify
    const other = signOffer(key, 'db', newDirectNonce(), SDP);
    expect(answerAuthentic(key.key, 'db', other, answer)).toBe(false);
    expect(answerAuthentic(key.key, 'db', offer, { ...answer, sdp: answer.sdp.replace('AA:BB', 'AA:BC') })).toBe(false);
  });

  it('what the host relays is no dictionary oracle: no MAC under a guessed secret matches', () => {
    // The old design keyed the MAC with the secret itself; a host that recorded an offer found the
    // secret by trying guesses. Now the key comes from a CPace exchange and the secret never enters it.
    const secret = 'sunshine';
    const offer = signOffer(k(), 'db', newDirectNonce(), SDP);
    for (const guess of [secret, 'password', '123456', 'db']) {
      expect(offerAuthentic(Buffer.from(guess), 'db', offer)).toBe(false);
      expect(offerAuthentic(createHmac('sha256', guess).update('db').digest(), 'db', offer)).toBe(false);
    }
    expect(JSON.stringify(offer)).not.toContain(secret);
  });

  it('any single-character change to the SDP breaks the MAC (property)', () => {
    const key = k();
    const offer = signOffer(key, 'svc', newDirectNonce(), SDP);
    fc.assert(
      fc.property(fc.nat(SDP.length - 1), fc.string({ minLength: 1, maxLength: 1 }), (i, c) => {
        fc.pre(SDP[i] !== c);
        const sdp = SDP.slice(0, i) + c + SDP.slice(i + 1);
        expect(offerAuthentic(key.key, 'svc', { ...offer, sdp })).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('both ends derive the same key and id from the same record key, and different ones otherwise', () => {
    const rk = randomBytes(32);
    expect(signallingKey(rk)).toEqual(signallingKey(Buffer.from(rk)));
    expect(signallingKey(rk).keyId).not.toBe(signallingKey(randomBytes(32)).keyId);
    expect(signallingKey(rk).keyId).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('direct-path signalling messages', () => {
  it('round-trip, and oversized or malformed bodies are refused with E_PROTOCOL', () => {
    const body = { serviceId: 'db', signalId: 'h12', ...signOffer(k(), 'db', newDirectNonce(), SDP) };
    expect(roundTrip(encodeMessage('DirectOffer', body))).toEqual({ type: 'DirectOffer', body });
    const refused = { serviceId: 'db', signalId: 'abc', code: 'E_AUTH' as const, message: 'no' };
    expect(roundTrip(encodeMessage('DirectRefused', refused))).toEqual({ type: 'DirectRefused', body: refused });
    for (const bad of [
      { ...body, sdp: 'x'.repeat(MAX_SDP + 1) },
      { ...body, signalId: 'has space' },
      { ...body, nonce: 'short' },
      { ...body, sdp: '' },
    ]) {
      expect(() => encodeMessage('DirectAnswer', bad)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
    }
  });
});
