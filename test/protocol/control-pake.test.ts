import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { _map_to_curve_elligator2_curve25519, ed25519, x25519 } from '@noble/curves/ed25519.js';
import { dataProof, proofsEqual } from '../../src/protocol/auth.js';
import { confirmEqual, controlGenerator, controlPakeStart, elligator2 } from '../../src/protocol/control-pake.js';
import type { P2prcError } from '../../src/errors.js';

const P = 2n ** 255n - 19n;
const leToBigint = (b: Buffer) => BigInt(`0x${Buffer.from(b).reverse().toString('hex')}`);
const AD = { clientId: 'c1', user: '', hostNonce: 'aa'.repeat(32) };

/** One handshake between a client holding `clientToken` and a host holding `hostToken`. */
function handshake(clientToken: string, hostToken: string, clientBinding = 'b', hostBinding = clientBinding) {
  const sid = randomBytes(32);
  const client = controlPakeStart(clientToken, clientBinding, sid);
  const host = controlPakeStart(hostToken, hostBinding, sid);
  return {
    client: client.finish(host.element, client.element, host.element, AD),
    host: host.finish(client.element, client.element, host.element, AD),
    elements: [client.element, host.element],
  };
}

describe('control handshake (CPace over X25519)', () => {
  it('maps onto the curve: the generator is a point of Curve25519, and node and noble agree on y·G', () => {
    const g = controlGenerator('token', 'binding', randomBytes(32));
    const u = leToBigint(g);
    const rhs = (((u * u * u + 486662n * u * u + u) % P) + P) % P;
    // Euler's criterion: rhs is a square mod p, so u is the x-coordinate of a curve point (not the twist).
    const pow = (b: bigint, e: bigint) => {
      let r = 1n;
      for (b %= P; e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) r = (r * b) % P;
      return r;
    };
    expect(rhs === 0n || pow(rhs, (P - 1n) / 2n) === 1n).toBe(true);
    const y = randomBytes(32);
    expect(Buffer.from(x25519.scalarMult(y, g)).length).toBe(32);
  });

  it("maps field elements as RFC 9380's Elligator 2 does (checked against @noble/curves)", () => {
    const Fp = ed25519.Point.Fp;
    const inputs = [0n, 1n, 2n, P - 1n, ...Array.from({ length: 200 }, () => leToBigint(randomBytes(32)) % P)];
    for (const t of inputs) {
      const { xMn, xMd } = _map_to_curve_elligator2_curve25519(t);
      expect(elligator2(t)).toBe(Fp.div(xMn, xMd));
    }
  });

  it('gives both sides the same proofs and session key with the same token, different ones per session', () => {
    const a = handshake('s3cret', 's3cret');
    expect(confirmEqual(a.client.hostConfirm, a.host.hostConfirm.toString('hex'))).toBe(true);
    expect(confirmEqual(a.host.clientConfirm, a.client.clientConfirm.toString('hex'))).toBe(true);
    expect(a.client.sessionKey.equals(a.host.sessionKey)).toBe(true);
    expect(a.client.hostConfirm.equals(a.client.clientConfirm)).toBe(false);
    const b = handshake('s3cret', 's3cret');
    expect(b.client.sessionKey.equals(a.client.sessionKey)).toBe(false);
    expect(proofsEqual(dataProof(a.client.sessionKey, 's', 1), dataProof(b.client.sessionKey, 's', 1))).toBe(false);
  });

  it('fails with a wrong token or a different TLS session on either side (a relay in the middle)', () => {
    const wrong = handshake('s3cret', 'S3cret');
    expect(confirmEqual(wrong.client.hostConfirm, wrong.host.hostConfirm.toString('hex'))).toBe(false);
    const relayed = handshake('s3cret', 's3cret', 'session-a', 'session-b');
    expect(confirmEqual(relayed.client.hostConfirm, relayed.host.hostConfirm.toString('hex'))).toBe(false);
  });

  it('refuses an element of small order (the all-zero u-coordinate and the order-2 point)', () => {
    const sid = randomBytes(32);
    const party = controlPakeStart('t', '', sid);
    for (const bad of [Buffer.alloc(32), Buffer.concat([Buffer.from([1]), Buffer.alloc(31)])]) {
      expect(() => party.finish(bad, party.element, bad, AD)).toThrowError(
        expect.objectContaining({ code: 'E_AUTH' }) as unknown as P2prcError,
      );
    }
    expect(() => party.finish(Buffer.alloc(31, 9), party.element, Buffer.alloc(31), AD)).toThrow(/wrong size/);
  });
});
