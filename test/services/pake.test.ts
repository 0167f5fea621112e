import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import {
  confirmation,
  confirmationMatches,
  cpaceStart,
  generator,
  scalarMult,
  scalarMultVfy,
  sessionKeys,
} from '../../src/services/pake.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** The draft's scalars are little-endian byte strings. */
const scalarLE = (s: string) => BigInt(`0x${Buffer.from(hex(s)).reverse().toString('hex')}`);
const encoded = (p: { toBytes(): Uint8Array }) => Buffer.from(p.toBytes()).toString('hex');

/**
 * draft-irtf-cfrg-cpace, "Test vector for CPace using group ristretto255 and hash SHA-512" (the
 * calculate_generator, message, secret point, scalar_mult and scalar_mult_vfy vectors).
 */
const DRAFT = {
  generatorString: hex(`
    11435061636552697374726574746f3235350850617373776f726464
    00000000000000000000000000000000000000000000000000000000
    00000000000000000000000000000000000000000000000000000000
    00000000000000000000000000000000000000000000000000000000
    00000000000000000000000000000000180b415f696e69746961746f
    720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f
    2c57`),
  generatorHash: hex(`
    da6d3ddc8802fca9058755ffd3ebde08a9c2c74945901a258482a288
    b6663af06bf645c93cd1c51512307199c80e84908916d983b34af772
    05f90851a657ee27`),
  g: '222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5698c7e56',
  ya: scalarLE('da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08'),
  Ya: 'd6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b9157',
  yb: scalarLE('d2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d'),
  Yb: '3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258',
  K: '80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc9887c8b40f',
  s: scalarLE('7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88cf538a05'),
  X: '2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c',
  sX: '7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e7f6b600e',
  /** Not a valid encoding (X with its lowest bit flipped: a "negative" field element). */
  Y_i1: '2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c',
  /** G.I, the neutral element. */
  Y_i2: '00'.repeat(32),
};

describe('CPace: where p2prc follows the draft (ristretto255, SHA-512)', () => {
  it("element derivation: the draft's generator hash maps to its g (the last step of p2prc's generator)", () => {
    expect(createHash('sha512').update(DRAFT.generatorString).digest().equals(DRAFT.generatorHash)).toBe(true);
    // hash_to_ristretto255, which generator() calls, is expand_message_xmd followed by this derivation.
    expect(encoded(ristretto255_hasher.deriveToCurve(DRAFT.generatorHash))).toBe(DRAFT.g);
  });

  it('scalar_mult: Ya = ya·g and Yb = yb·g', () => {
    const g = ristretto255.Point.fromHex(DRAFT.g);
    expect(scalarMult(DRAFT.ya, g).toString('hex')).toBe(DRAFT.Ya);
    expect(scalarMult(DRAFT.yb, g).toString('hex')).toBe(DRAFT.Yb);
  });

  it('scalar_mult_vfy: both sides reach K; the valid-input case', () => {
    expect(scalarMultVfy(DRAFT.ya, hex(DRAFT.Yb)).toString('hex')).toBe(DRAFT.K);
    expect(scalarMultVfy(DRAFT.yb, hex(DRAFT.Ya)).toString('hex')).toBe(DRAFT.K);
    expect(scalarMultVfy(DRAFT.s, hex(DRAFT.X)).toString('hex')).toBe(DRAFT.sX);
  });

  it("scalar_mult_vfy aborts (E_AUTH) on the draft's invalid inputs and other non-canonical encodings", () => {
    const p = Buffer.alloc(32, 0xff);
    p[0] = 0xed;
    p[31] = 0x7f; // the field prime itself: an element encoded without reduction
    for (const bad of [hex(DRAFT.Y_i1), hex(DRAFT.Y_i2), p, hex(DRAFT.X).subarray(0, 31)])
      expect(() => scalarMultVfy(DRAFT.s, bad)).toThrow(expect.objectContaining({ code: 'E_AUTH' }));
  });
});

/** p2prc's own encodings (see the comment at the top of src/services/pake.ts): fixed inputs, pinned outputs. */
const P2PRC = {
  secret: 'Password',
  serviceId: 'test-service',
  sid: hex('7e4b4791d6a8ef019b936c79fb7f2c57'),
  dst: 'p2prc/v1/service/cpace/ristretto255',
  g: 'd2ddf327307a0766f58246b414adbd7ffc7bd020d927ac3eebc41553bf127b54',
  Ya: '2440328f9bd2a5adc80ea4d3af14fd4a32c1dcb641d0f2a2c0ef7a28ab396656',
  Yb: 'a648b67723a26f2a89868d26f2c7031c3b6bdb4fcf81837ff0d487588e390342',
  isk:
    'a2fb713624bd526cafd2829a86f5da529527f59d1417d0e20c06f2115294132e' +
    '138f87a43ad04a3e9d5ca2abcc9793752435ca69f88743a34ac665492c886a7a',
  visitorConfirmation: 'f5cbbad36a268cd7f3fd6bb5388efb0ed26d4ae533c9744e003367364a40bdc1',
  ownerConfirmation: '01080ed92d94a2b1bb3a18e02864c90b8a9da2e1f8dd4015ed68613bada8de9e',
  visitorToOwner: 'e9ffe3fc7b77f31e1d20a87c29a904fea9e78682925d0d1aabc289804fc80a7d',
  ownerToVisitor: '0d4596f20ffbfc35f0494bad6ae47538ac4520f64a2eee9fbb6b183ac81cd8e2',
};

/** The documented length-value encoding: each field after its length as 4 bytes, big-endian. */
function lv(...parts: Array<string | Buffer>): Buffer {
  return Buffer.concat(
    parts.flatMap((p) => {
      const b = Buffer.from(p);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      return [len, b];
    }),
  );
}

/** Runs both sides of one handshake: the visitor's element is Ya, the owner's Yb. */
function handshake(visitor: [string, string, Buffer, bigint?], owner: [string, string, Buffer, bigint?]) {
  const v = cpaceStart(...visitor);
  const o = cpaceStart(...owner);
  return {
    v,
    o,
    visitorIsk: v.finish(o.element, v.element, o.element),
    ownerIsk: o.finish(v.element, v.element, o.element),
  };
}

describe("CPace: p2prc's own encodings, known answers", () => {
  const { secret, serviceId, sid } = P2PRC;

  it('the generator is hash_to_ristretto255 of lv(secret, service id, sid) under p2prc’s DST', () => {
    expect(encoded(generator(secret, serviceId, sid))).toBe(P2PRC.g);
    expect(encoded(ristretto255_hasher.hashToCurve(lv(secret, serviceId, sid), { DST: P2PRC.dst }))).toBe(P2PRC.g);
  });

  it("with the draft's scalars: the elements, ISK, confirmations and keys are pinned", () => {
    const { v, o, visitorIsk, ownerIsk } = handshake(
      [secret, serviceId, sid, DRAFT.ya],
      [secret, serviceId, sid, DRAFT.yb],
    );
    expect(v.element.toString('hex')).toBe(P2PRC.Ya);
    expect(o.element.toString('hex')).toBe(P2PRC.Yb);
    expect(visitorIsk.toString('hex')).toBe(P2PRC.isk);
    expect(ownerIsk.toString('hex')).toBe(P2PRC.isk);
    expect(confirmation(visitorIsk, 'visitor').toString('hex')).toBe(P2PRC.visitorConfirmation);
    expect(confirmation(visitorIsk, 'owner').toString('hex')).toBe(P2PRC.ownerConfirmation);
    const keys = sessionKeys(visitorIsk);
    expect(keys.visitorToOwner.toString('hex')).toBe(P2PRC.visitorToOwner);
    expect(keys.ownerToVisitor.toString('hex')).toBe(P2PRC.ownerToVisitor);
  });

  it('ISK is SHA-512 of lv(DST/isk, sid, service id, K, Ya, Yb)', () => {
    const g = ristretto255.Point.fromHex(P2PRC.g);
    const K = scalarMult((DRAFT.ya * DRAFT.yb) % ristretto255.Point.Fn.ORDER, g); // ya·yb·g, as either side gets it
    const isk = createHash('sha512')
      .update(lv(`${P2PRC.dst}/isk`, sid, serviceId, K, hex(P2PRC.Ya), hex(P2PRC.Yb)))
      .digest();
    expect(isk.toString('hex')).toBe(P2PRC.isk);
  });
});

describe('CPace: properties', () => {
  const secrets = fc.string({ minLength: 1, maxLength: 40 });
  const sids = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a));

  it('both sides derive the same key from the same secret, id and sid; their confirmations check', () => {
    fc.assert(
      fc.property(secrets, secrets, sids, (secret, id, sid) => {
        const { visitorIsk, ownerIsk } = handshake([secret, id, sid], [secret, id, sid]);
        expect(visitorIsk.equals(ownerIsk)).toBe(true);
        expect(confirmationMatches(ownerIsk, 'visitor', confirmation(visitorIsk, 'visitor'))).toBe(true);
        expect(confirmationMatches(visitorIsk, 'owner', confirmation(ownerIsk, 'owner'))).toBe(true);
        expect(confirmationMatches(visitorIsk, 'owner', confirmation(visitorIsk, 'visitor'))).toBe(false);
      }),
      { numRuns: 15 },
    );
  });

  it('a wrong secret, another service id or another sid gives another key, and confirmation fails', () => {
    fc.assert(
      fc.property(secrets, secrets, secrets, sids, (secret, other, id, sid) => {
        fc.pre(secret !== other);
        const wrong = [
          handshake([other, id, sid], [secret, id, sid]),
          handshake([secret, `${id}x`, sid], [secret, id, sid]),
          handshake([secret, id, Buffer.from(sid.map((b, i) => (i === 0 ? b ^ 1 : b)))], [secret, id, sid]),
        ];
        for (const { visitorIsk, ownerIsk } of wrong) {
          expect(visitorIsk.equals(ownerIsk)).toBe(false);
          expect(confirmationMatches(ownerIsk, 'visitor', confirmation(visitorIsk, 'visitor'))).toBe(false);
        }
      }),
      { numRuns: 10 },
    );
  });

  it('an invalid or neutral element from the peer ends the handshake with E_AUTH', () => {
    const me = cpaceStart(P2PRC.secret, P2PRC.serviceId, P2PRC.sid);
    for (const bad of [hex(DRAFT.Y_i1), hex(DRAFT.Y_i2), Buffer.alloc(32, 0xff)])
      expect(() => me.finish(bad, me.element, bad)).toThrow(expect.objectContaining({ code: 'E_AUTH' }));
  });
});
