import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { Admission, defaultAdmissionLimits } from '../../src/host/admission.js';
import { encodeMessage, type Message } from '../../src/protocol/messages.js';
import { FrpWireClient } from '../../src/frp-wire/client/client.js';
import { client, echoExact, echoServer, freePort, host, sha256, until } from '../helpers/engine.js';
import { authenticatedControl } from '../helpers/native.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

/** `n` connections from `address` that send `head` (maybe nothing) and then say no more; resolves once all are accepted or refused. */
async function silent(port: number, address: string, n: number, head = ''): Promise<net.Socket[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Socket>((resolve) => {
          const s = net.connect({ port, host: address }, () => resolve(s));
          s.on('error', () => resolve(s));
          if (head) s.write(head);
        }),
    ),
  );
  for (const s of sockets) defer(() => s.destroy());
  return sockets;
}

const open = (sockets: net.Socket[]) => sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;

describe('admission (pure): MaxStartups-style limits', () => {
  it('caps strangers per source and in total, drops at random in between, and keeps a budget for authenticated clients', () => {
    let coin = 0.99;
    const a = new Admission({ maxPending: 8, perSource: 3, earlyDropStart: 4 }, () => coin);
    const t = [a.admit('x', () => false), a.admit('x', () => false), a.admit('x', () => false)];
    expect(t.every((x) => typeof x !== 'string')).toBe(true);
    expect(a.admit('x', () => false)).toMatch(/from x/);
    expect(typeof a.admit('y', () => false)).toBe('object'); // 4 strangers: early drop starts now
    expect(typeof a.admit('z', () => false)).toBe('object'); // coin 0.99 survives (1 in 5 dropped)
    coin = 0;
    expect(a.admit('w', () => false)).toMatch(/random early drop/);
    coin = 0.99;
    for (const s of ['p', 'q', 's']) expect(typeof a.admit(s, () => false)).toBe('object');
    expect(a.admit('r', () => false)).toMatch(/too many handshakes in progress/);
    // An address with a live session skips the strangers' queue, with its own budget.
    expect(a.admit('r', () => true)).toEqual({ trusted: true, source: 'r' });
    for (const x of t) if (typeof x !== 'string') a.release(x);
    expect(typeof a.admit('x', () => false)).toBe('object');
    expect(defaultAdmissionLimits(256)).toEqual({ maxPending: 256, perSource: 64, earlyDropStart: 128 });
  });
});

describe('the host front door under a flood of silent sockets', () => {
  it('a silent connection is dropped before TLS long before the handshake deadline', async () => {
    const h = await host({ handshakeTimeoutMs: 600_000 });
    const [s] = await silent(h.port, '127.0.0.1', 1);
    await once(s!, 'close'); // the test's own timeout bounds this wait
  });

  it('strangers from one address cannot lock out a new client from another', async () => {
    const h = await host({ bind: '::', tls: false, maxPendingHandshakes: 32, handshakeTimeoutMs: 600_000 });
    // "P" (the p2prc preamble's first byte) gets past the first-byte deadline; then silence until the handshake deadline.
    const flood = await silent(h.port, '::1', 200, 'P');
    await until(() => open(flood) <= 16, 10_000, 'the host to drop the strangers beyond the per-source limit');
    const echo = await echoServer();
    const c = client(h, { tls: false, tunnels: [{ name: 'web', localPort: echo }] });
    const [t] = await c.ready;
    expect(await echoExact(t!.remotePort, Buffer.from('through'))).toBe(sha256(Buffer.from('through')));
  }, 30_000);

  it("an authenticated client's data connections get in while strangers fill every pending slot", async () => {
    const h = await host({
      bind: '::',
      tls: false,
      maxPendingHandshakes: 16,
      maxPendingPerSource: 16,
      handshakeTimeoutMs: 600_000,
    });
    const echo = await echoServer();
    const [t] = await client(h, { tls: false, tunnels: [{ name: 'web', localPort: echo }] }).ready;
    const flood = await silent(h.port, '::1', 100, 'P');
    await until(() => open(flood) <= 16, 10_000, 'the host to drop strangers beyond its cap');
    // 40 visitors at once drain the client's pool: it must open new data connections, from 127.0.0.1.
    const all = await Promise.all(
      Array.from({ length: 40 }, (_, i) => echoExact(t!.remotePort, Buffer.from(`v${i}`), 20_000)),
    );
    all.forEach((hash, i) => expect(hash).toBe(sha256(Buffer.from(`v${i}`))));
    expect(open(flood)).toBeGreaterThan(0); // the strangers were still there, holding their slots
  }, 40_000);
});

describe('native and frp clients on one host', () => {
  it('two Register frames for one tunnel id in one write: one port, one refusal; CloseTunnel frees it', async () => {
    const h = await host({ tls: false });
    const { socket, channel } = await authenticatedControl(h.port, h.token, 'twice');
    const reg = encodeMessage('Register', {
      tunnelId: 't1',
      protocol: 'tcp',
      remotePort: 0,
      name: 'web',
      matchLocal: false,
    });
    socket.write(Buffer.concat([reg, reg]));
    const replies: Message[] = [await channel.next(5_000), await channel.next(5_000)];
    const ok = replies.find((m) => m.type === 'Registered');
    expect(replies.map((m) => m.type).sort()).toEqual(['RegisterFailed', 'Registered']);
    expect(replies.find((m) => m.type === 'RegisterFailed')).toMatchObject({
      body: { tunnelId: 't1', code: 'E_CONFLICT' },
    });
    expect(h.host.tunnels().map((x) => x.port)).toEqual([ok?.type === 'Registered' ? ok.body.port : -1]);
    channel.send('CloseTunnel', { tunnelId: 't1' });
    await until(() => h.host.tunnels().length === 0, 5_000, 'the tunnel to be released');
  });

  it("a native client cannot claim an frp client's id and take its port in the grace period", async () => {
    const h = await host({ tls: false, graceMs: 60_000 });
    const logs: string[] = [];
    h.host.on('log', (l) => logs.push(l.message));
    const echo = await echoServer();
    const port = await freePort();
    const frp = new FrpWireClient({
      host: '127.0.0.1',
      port: h.port,
      token: h.token,
      tcpMux: true,
      tunnels: [{ name: 'web', localHost: '127.0.0.1', localPort: echo, remotePort: port }],
      heartbeatMs: 1_000,
    });
    await frp.start();
    await frp.close();
    await until(() => h.host.tunnels().some((x) => !x.online), 10_000, 'the frp proxy to go into its grace period');
    const c = client(h, {
      tls: false,
      clientId: 'frp:web',
      tunnels: [{ name: 'web', localPort: echo, remotePort: port }],
    });
    void c.ready.catch(() => undefined);
    await until(
      () => logs.some((m) => m.includes('reserved for frp clients')),
      10_000,
      'the host to refuse the reserved client id',
    );
    expect(h.host.tunnels()).toMatchObject([{ port: port, online: false, clientId: 'frp:web' }]);
  });
});
