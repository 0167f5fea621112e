import { describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { UdpRelay } from '../../src/client/udp.js';
import { evictOne } from '../../src/protocol/evict.js';
import { client, host, until } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

async function udpSocket(
  onMessage?: (msg: Buffer, r: dgram.RemoteInfo, s: dgram.Socket) => void,
): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  if (onMessage) s.on('message', (m, r) => onMessage(m, r, s));
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  defer(() => s.close());
  return s;
}

/** Sends `msg` until its echo comes back (UDP may drop; at most 5 tries of 2 s); true when it did. */
async function echoed(v: dgram.Socket, port: number, msg: Buffer): Promise<boolean> {
  let got = false;
  const on = (m: Buffer) => (got ||= m.equals(msg));
  v.on('message', on);
  try {
    for (let attempt = 0; attempt < 5 && !got; attempt++) {
      v.send(msg, port, '127.0.0.1');
      await until(() => got, 2_000, 'echo').catch(() => undefined);
    }
    return got;
  } finally {
    v.off('message', on);
  }
}

// The UDP per-source map stays bounded, since sources can be spoofed at will.
describe('UDP tunnels under many sources', () => {
  it('second-chance eviction: a source used since it was last passed over stays, a one-shot source goes', () => {
    const m = new Map([
      ['live', { used: true }],
      ['once', { used: false }],
      ['other', { used: false }],
    ]);
    expect(evictOne(m)?.[0]).toBe('once');
    expect([...m.keys()]).toEqual(['other', 'live']);
    expect(m.get('live')!.used).toBe(false);
    const busy = new Map(Array.from({ length: 40 }, (_, i) => [i, { used: true }] as const));
    expect(evictOne(busy)?.[0]).toBe(15); // all busy: bounded work, then the next in line goes anyway
    expect(busy.size).toBe(39);
    expect(evictOne(new Map())).toBeUndefined();
  });

  it('the host remembers at most udpMaxVisitors sources; evicted and new visitors still get through', async () => {
    const h = await host({ tls: false, udpMaxVisitors: 16 });
    const echo = await udpSocket((m, r, s) => s.send(m, r.port, r.address));
    const [t] = await client(h, {
      tls: false,
      tunnels: [{ name: 'u', protocol: 'udp', localPort: echo.address().port }],
    }).ready;
    const sources: dgram.Socket[] = [];
    for (let i = 0; i < 100; i++) {
      const v = await udpSocket();
      sources.push(v);
      expect(await echoed(v, t!.remotePort, Buffer.from(`from ${i}`))).toBe(true);
    }
    const udp = () => h.host.tunnels().find((x) => x.protocol === 'udp')!;
    expect(udp().connections).toBe(100);
    expect(udp().activeVisitors).toBe(16);
    // The first source was evicted long ago: it is a new visitor now, and it is answered.
    expect(await echoed(sources[0]!, t!.remotePort, Buffer.from('again'))).toBe(true);
    expect(udp().activeVisitors).toBe(16);
  }, 60_000);

  it('the client closes a local socket not used lately past its cap', async () => {
    const echo = await udpSocket((m, r, s) => s.send(m, r.port, r.address));
    const relay = new UdpRelay(() => ({ host: '127.0.0.1', port: echo.address().port }), 60_000, 8);
    defer(() => relay.close());
    const replies = new Map<number, Buffer>();
    relay.setSender((_tunnel, visitorId, data) => replies.set(visitorId, data));
    for (let id = 1; id <= 50; id++) {
      relay.fromHost('u', id, Buffer.from(`v${id}`));
      expect(relay.activeSessions).toBeLessThanOrEqual(8);
    }
    expect(relay.evicted).toBe(42);
    await until(() => replies.get(50)?.toString() === 'v50', 10_000, "the newest visitor's reply");
  });
});
