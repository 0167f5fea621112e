import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_SDP,
  answerAuthentic,
  newDirectNonce,
  offerAuthentic,
  signAnswer,
  signOffer,
} from '../../src/protocol/direct.js';
import { decodeMessage, encodeMessage } from '../../src/protocol/messages.js';
import { FrameDecoder } from '../../src/protocol/frame.js';

const SDP =
  'v=0\r\na=ice-ufrag:abcd\r\na=fingerprint:sha-256 AA:BB\r\na=candidate:1 1 UDP 2114977791 192.0.2.7 40000 typ host\r\n';

function roundTrip(buf: Buffer) {
  const d = new FrameDecoder();
  d.write(buf);
  return decodeMessage(d.read()!);
}

describe('direct-path signalling MACs', () => {
  it('an offer and its answer verify with the secret, and fail with any field or the secret changed', () => {
    const offer = signOffer('s3cret', 'db', newDirectNonce(), SDP);
    expect(offerAuthentic('s3cret', 'db', offer)).toBe(true);
    const answer = signAnswer('s3cret', 'db', offer, newDirectNonce(), SDP.replace('192.0.2.7', '198.51.100.9'));
    expect(answerAuthentic('s3cret', 'db', offer, answer)).toBe(true);
    expect(offerAuthentic('other', 'db', offer)).toBe(false);
    expect(offerAuthentic('s3cret', 'db2', offer)).toBe(false);
    expect(offerAuthentic('s3cret', 'db', { ...offer, sdp: offer.sdp.replace('40000', '40001') })).toBe(false);
    expect(offerAuthentic('s3cret', 'db', { ...offer, nonce: newDirectNonce() })).toBe(false);
    expect(offerAuthentic('s3cret', 'db', { ...offer, mac: 'zz' })).toBe(false);
    // an answer spliced onto another offer does not verify
    const other = signOffer('s3cret', 'db', newDirectNonce(), SDP);
    expect(answerAuthentic('s3cret', 'db', other, answer)).toBe(false);
    expect(answerAuthentic('s3cret', 'db', offer, { ...answer, sdp: answer.sdp.replace('AA:BB', 'AA:BC') })).toBe(
      false,
    );
  });

  it('any single-character change to the SDP breaks the MAC (property)', () => {
    const offer = signOffer('k', 'svc', newDirectNonce(), SDP);
    fc.assert(
      fc.property(fc.nat(SDP.length - 1), fc.string({ minLength: 1, maxLength: 1 }), (i, c) => {
        fc.pre(SDP[i] !== c);
        const sdp = SDP.slice(0, i) + c + SDP.slice(i + 1);
        expect(offerAuthentic('k', 'svc', { ...offer, sdp })).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('direct-path signalling messages', () => {
  it('round-trip, and oversized or malformed bodies are refused with E_PROTOCOL', () => {
    const body = { serviceId: 'db', signalId: 'h12', ...signOffer('s', 'db', newDirectNonce(), SDP) };
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
