import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CfbDecrypt, CfbEncrypt, frpKey } from '../../src/frp-wire/codec/crypto.js';
import { FrpMessageDecoder, FrpMsg, encodeFrpMessage, type FrpMessage } from '../../src/frp-wire/codec/messages.js';
import { FrpControl, type FrpControlContext } from '../../src/frp-wire/server/control.js';
import type { FrpUdpTunnel } from '../../src/frp-wire/server/ports.js';
import { duplexPair } from '../../src/transport/pair.js';
import { DEFAULT_PAIRING_LIMITS } from '../../src/transport/pairing-pool.js';
import { StreamStarts } from '../../src/frp-wire/server/stream-starts.js';

/** The frpc side of a control stream: decrypted messages as they come, and a way to send. */
function frpcSide(
  conn: Duplex,
  key: Buffer,
): { next(type: number): Promise<FrpMessage>; send(type: number, body: object): void } {
  const queue: FrpMessage[] = [];
  const decoder = new FrpMessageDecoder();
  const dec = new CfbDecrypt(key);
  conn.pipe(dec).on('data', (chunk: Buffer) => queue.push(...decoder.push(chunk)));
  const enc = new CfbEncrypt(key);
  enc.pipe(conn);
  return {
    async next(type) {
      for (let i = 0; i < 50; i++) {
        const m = queue.shift();
        if (m) {
          expect(m.type).toBe(type);
          return m;
        }
        await once(dec, 'data');
      }
      throw new Error(`no message 0x${type.toString(16)}`);
    },
    send: (type, body) => enc.write(encodeFrpMessage(type, body)),
  };
}

/** What a work connection received, decoded. */
function received(work: Duplex): FrpMessage[] {
  const got: FrpMessage[] = [];
  const d = new FrpMessageDecoder();
  work.on('data', (c: Buffer) => got.push(...d.push(c)));
  return got;
}

describe('frp udp proxies and work connections (frpc 0.31.2 ordering)', () => {
  it('a udp proxy takes no work connection requested before its NewProxyResp, and the next one', async () => {
    const key = frpKey('tok');
    const tunnel: FrpUdpTunnel = {
      tunnelId: 'frp:game',
      name: 'game',
      port: 40000,
      protocol: 'udp',
      idOf: () => undefined,
      toVisitor: () => undefined,
      dropped: 0,
    };
    const ctx = {
      key,
      log: () => undefined,
      starts: new StreamStarts(),
      heartbeatTimeoutMs: 60_000,
      pairing: DEFAULT_PAIRING_LIMITS,
      vhost: undefined,
      ports: { open: async () => tunnel, close: () => undefined },
    } as unknown as FrpControlContext<FrpUdpTunnel>;
    const [hostEnd, frpcEnd] = duplexPair();
    const control = new FrpControl('run1', '127.0.0.1:1', hostEnd, Buffer.alloc(0), ctx, 1, () => undefined);
    const frpc = frpcSide(frpcEnd, key);
    await frpc.next(FrpMsg.ReqWorkConn); // the login's pool
    frpc.send(FrpMsg.NewProxy, { proxy_name: 'game', proxy_type: 'udp', remote_port: 40000 });
    expect((await frpc.next(FrpMsg.NewProxyResp)).body).toMatchObject({ proxy_name: 'game', error: '' });
    await frpc.next(FrpMsg.ReqWorkConn); // the proxy's own
    // The answer to the login's request may still come first: frpc may not have started the proxy yet.
    const [early, earlyFrpc] = duplexPair();
    const earlyGot = received(earlyFrpc);
    control.addWorkConn(early);
    const [late, lateFrpc] = duplexPair();
    const lateGot = received(lateFrpc);
    control.addWorkConn(late);
    await once(lateFrpc, 'data');
    expect(lateGot.map((m) => [m.type, m.body.proxy_name])).toEqual([[FrpMsg.StartWorkConn, 'game']]);
    expect(earlyGot).toEqual([]); // left in the pool for tcp visitors
    control.close();
  });
});
