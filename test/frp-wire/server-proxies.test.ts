import type { Duplex } from 'node:stream';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { LoadBalancedGroup } from '../../src/frp-wire/server/groups.js';
import { SecretProxies } from '../../src/frp-wire/server/secrets.js';
import { CfbEncrypt, frpKey } from '../../src/frp-wire/codec/crypto.js';
import { FrpMessageDecoder, FrpMsg, privilegeKey } from '../../src/frp-wire/codec/messages.js';
import { duplexPair } from '../../src/transport/pair.js';
import type { VisitorSink, VisitorStream } from '../../src/transport/pairing-pool.js';

/** A sink that records which target each visitor was handed to. */
function recorder(): VisitorSink & { got: Array<{ tunnelId: string; visitor: VisitorStream }> } {
  const got: Array<{ tunnelId: string; visitor: VisitorStream }> = [];
  return { got, acceptVisitor: (t, visitor) => void got.push({ tunnelId: t.tunnelId, visitor }) };
}

const socket = () => duplexPair()[0];

describe('LoadBalancedGroup (frp group / group_key)', () => {
  it("spreads visitors over its members in turn and refuses frp's way", () => {
    const a = recorder();
    const b = recorder();
    const g = new LoadBalancedGroup('test1', '123', 10802);
    g.join({ name: 'g1', sink: a, target: { tunnelId: 'frp:g1', port: 10802 } }, '123', 10802);
    g.join({ name: 'g2', sink: b, target: { tunnelId: 'frp:g2', port: 10802 } }, '123', 10802);
    expect(() => g.join({ name: 'g3', sink: a, target: { tunnelId: 'x', port: 1 } }, 'wrong', 10802)).toThrow(
      expect.objectContaining({ code: 'E_AUTH', message: 'group auth failed' }),
    );
    expect(() => g.join({ name: 'g3', sink: a, target: { tunnelId: 'x', port: 1 } }, '123', 10803)).toThrow(
      expect.objectContaining({ code: 'E_CONFLICT', message: 'group should have same remote port' }),
    );
    expect(() => g.join({ name: 'g1', sink: a, target: { tunnelId: 'x', port: 1 } }, '123', 10802)).toThrow(
      expect.objectContaining({ code: 'E_CONFLICT' }),
    );
    for (let i = 0; i < 6; i++) g.acceptVisitor({ tunnelId: 'group', port: 10802 }, socket());
    expect(a.got.map((x) => x.tunnelId)).toEqual(['frp:g1', 'frp:g1', 'frp:g1']);
    expect(b.got.map((x) => x.tunnelId)).toEqual(['frp:g2', 'frp:g2', 'frp:g2']);
    expect(g.leave('g1')).toBe(false);
    g.acceptVisitor({ tunnelId: 'group', port: 10802 }, socket());
    expect(b.got).toHaveLength(4);
    expect(g.leave('g2')).toBe(true);
    const late = socket();
    g.acceptVisitor({ tunnelId: 'group', port: 10802 }, late);
    expect(late.destroyed).toBe(true);
  });
});

describe('SecretProxies (frp stcp)', () => {
  async function answer(side: Duplex): Promise<Record<string, unknown>> {
    const d = new FrpMessageDecoder();
    for (let chunks = 0; chunks < 16; chunks++) {
      const [chunk] = (await once(side, 'data')) as [Buffer];
      const [m] = d.push(chunk);
      if (m) {
        expect(m.type).toBe(FrpMsg.NewVisitorConnResp);
        return m.body;
      }
    }
    throw new Error('no NewVisitorConnResp in 16 chunks');
  }

  it("a visitor signing with the proxy's sk is answered and handed over, its encryption (keyed by sk) removed", async () => {
    const secrets = new SecretProxies(900);
    const sink = recorder();
    secrets.listen('stcp', 'abcdefg', sink, { tunnelId: 'frp:stcp', port: 0 });
    expect(() => secrets.listen('stcp', 'x', sink, { tunnelId: 'frp:stcp', port: 0 })).toThrow(
      expect.objectContaining({ code: 'E_CONFLICT' }),
    );
    const [serverSide, visitorSide] = duplexPair();
    const ts = Math.floor(Date.now() / 1000);
    secrets.accept(
      serverSide,
      {
        proxy_name: 'stcp',
        sign_key: privilegeKey('abcdefg', ts),
        timestamp: ts,
        use_encryption: true,
        use_compression: false,
      },
      Buffer.alloc(0),
    );
    expect(await answer(visitorSide)).toEqual({ proxy_name: 'stcp', error: '' });
    expect(sink.got).toHaveLength(1);
    const enc = new CfbEncrypt(frpKey('abcdefg'));
    enc.pipe(visitorSide);
    enc.write('hello through stcp');
    const [plain] = (await once(sink.got[0]!.visitor, 'data')) as [Buffer];
    expect(plain.toString()).toBe('hello through stcp');
  });

  it("a wrong sign key, a stale timestamp or an unknown name get frp's refusal and nothing is handed over", async () => {
    const secrets = new SecretProxies(900);
    const sink = recorder();
    secrets.listen('stcp', 'abcdefg', sink, { tunnelId: 'frp:stcp', port: 0 });
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[Record<string, unknown>, string]> = [
      [
        { proxy_name: 'stcp', sign_key: privilegeKey('wrong', now), timestamp: now },
        'visitor connection of [stcp] auth failed',
      ],
      [
        { proxy_name: 'stcp', sign_key: privilegeKey('abcdefg', now - 3600), timestamp: now - 3600 },
        'visitor connection of [stcp] auth failed',
      ],
      [
        { proxy_name: 'nope', sign_key: privilegeKey('abcdefg', now), timestamp: now },
        "custom listener for [nope] doesn't exist",
      ],
    ];
    for (const [body, error] of cases) {
      const [serverSide, visitorSide] = duplexPair();
      // Refused with a code, so that the front door destroys the connection once the answer is out.
      expect(() => secrets.accept(serverSide, body, Buffer.alloc(0))).toThrow(
        expect.objectContaining({ code: 'E_AUTH' }),
      );
      expect(await answer(visitorSide)).toMatchObject({ error });
    }
    expect(sink.got).toHaveLength(0);
  });
});
