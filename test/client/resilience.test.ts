import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { startHost, connect, isP2prcError, P2prcError, type ClientStatus } from '../../src/index.js';
import { client, echoServer, host, httpServer, listen, roundTrip, sha256, until } from '../helpers/engine.js';
import { blackholeProxy } from '../helpers/blackhole.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir, defer } = useWorkspace();

async function rejection(p: Promise<unknown>): Promise<P2prcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof P2prcError)) throw new Error(`expected a P2prcError, got ${String(err)}`);
  return err;
}

async function busyPort(): Promise<number> {
  return listen(net.createServer());
}

describe('auth and policy', () => {
  it('wrong token: E_AUTH and nothing published', async () => {
    const h = await host();
    const web = await httpServer();
    const err = await rejection(client(h, { token: `${h.token}x`, tunnels: [{ name: 'web', localPort: web }] }).ready);
    expect(err.code).toBe('E_AUTH');
    expect(h.host.tunnels()).toEqual([]);
  });

  it('requested port taken on the host side: E_PORT_TAKEN, side host', async () => {
    const h = await host();
    const web = await httpServer();
    const taken = await busyPort();
    const err = await rejection(client(h, { tunnels: [{ name: 'web', localPort: web, remotePort: taken }] }).ready);
    expect(err.code).toBe('E_PORT_TAKEN');
    expect(err.details.side).toBe('host');
  });

  it('requested port taken on the local side: E_PORT_TAKEN, side local', async () => {
    const h = await host();
    const taken = await busyPort();
    const listenLocal = async (port: number) => {
      const s = net.createServer();
      s.listen(port, '127.0.0.1');
      const [err] = await Promise.race([once(s, 'listening').then(() => [undefined]), once(s, 'error')]);
      if (err) throw new P2prcError('E_PORT_TAKEN', `port ${port} taken locally`);
      defer(() => s.close());
    };
    const err = await rejection(
      client(h, { tunnels: [{ name: 'node', listen: listenLocal, remotePort: taken }] }).ready,
    );
    expect(err.code).toBe('E_PORT_TAKEN');
    expect(err.details.side).toBe('local');
  });

  it('"any" negotiates a port free on both sides, skipping ports busy locally', async () => {
    // three ports free on the host; the client's side reports two of them busy
    const ports = await Promise.all(
      [0, 1, 2].map(async () => {
        const s = net.createServer().listen(0, '127.0.0.1');
        await once(s, 'listening');
        const p = (s.address() as net.AddressInfo).port;
        await new Promise((r) => s.close(r));
        return p;
      }),
    );
    const [busyA, busyB, free] = ports as [number, number, number];
    const h = await host({ allowPorts: ports.map((p) => ({ start: p, end: p })) });
    const offered: number[] = [];
    const c = client(h, {
      tunnels: [
        {
          name: 'node',
          listen: async (port) => {
            offered.push(port);
            if (port === busyA || port === busyB) throw new P2prcError('E_PORT_TAKEN', 'busy here');
          },
        },
      ],
    });
    const [t] = await c.ready;
    expect(t!.remotePort).toBe(free);
    expect(t!.localPort).toBe(free);
    expect(offered[offered.length - 1]).toBe(free);
    expect(new Set(offered).size).toBe(offered.length); // a rejected port is never offered again
  });

  it('quota and allowed ports: E_QUOTA and E_PORT_DENIED', async () => {
    const h = await host({ maxTunnelsPerClient: 1 });
    const web = await httpServer();
    const quota = await rejection(
      client(h, {
        tunnels: [
          { name: 'a', localPort: web },
          { name: 'b', localPort: web },
        ],
      }).ready,
    );
    expect(quota.code).toBe('E_QUOTA');
    const h2 = await host({ allowPorts: '20000-20010' });
    const denied = await rejection(client(h2, { tunnels: [{ name: 'a', localPort: web, remotePort: 30000 }] }).ready);
    expect(denied.code).toBe('E_PORT_DENIED');
  });

  it('TLS fingerprint mismatch is refused with E_TLS', async () => {
    const h = await host();
    const web = await httpServer();
    const err = await rejection(
      client(h, { fingerprint: 'AB'.repeat(32), tunnels: [{ name: 'web', localPort: web }] }).ready,
    );
    expect(err.code).toBe('E_TLS');
  });
});

describe('recovery', () => {
  it('after a host restart the client reconnects and the same public port works again', async () => {
    const stateDir = tempDir('host');
    const first = await startHost({ controlPort: 0, bind: '127.0.0.1', stateDir, heartbeatMs: 500 });
    const echo = await echoServer();
    const c = connect({
      host: '127.0.0.1',
      port: first.port,
      token: first.token,
      tunnels: [{ name: 'e', localPort: echo }],
      backoff: { initialMs: 50, maxMs: 300 },
    });
    defer(() => c.close());
    const [t] = await c.ready;
    const statuses: ClientStatus['state'][] = [];
    c.on('status', (s) => statuses.push(s.state));
    await first.close();
    const second = await startHost({ controlPort: first.port, bind: '127.0.0.1', stateDir, heartbeatMs: 500 });
    defer(() => second.close());
    await once(c, 'published');
    expect(c.published()[0]!.remotePort).toBe(t!.remotePort);
    expect(statuses).toContain('reconnecting');
    const msg = Buffer.from('back again');
    expect((await roundTrip(t!.remotePort, msg)).sha).toBe(sha256(msg));
  });

  it('a lost client keeps its port for the grace period, then it is freed', async () => {
    // Long enough that a loaded machine still gets the thief's login in before it ends.
    const h = await host({ graceMs: 3_000 });
    const web = await httpServer();
    const c = client(h, { tunnels: [{ name: 'web', localPort: web }], maxRetries: 0 });
    const [t] = await c.ready;
    await c.close(); // CloseTunnel frees at once; simulate a crash instead with a second client below
    const c2 = client(h, { clientId: 'crashy', tunnels: [{ name: 'web', localPort: web, remotePort: t!.remotePort }] });
    await c2.ready;
    // crash: the control connection dies without a goodbye
    (c2 as unknown as { session: { close(): void } }).session.close();
    await c2.close();
    await until(() => h.host.tunnels().some((x) => !x.online && x.port === t!.remotePort), 5_000, 'reservation');
    const other = await rejection(
      client(h, { tunnels: [{ name: 'thief', localPort: web, remotePort: t!.remotePort }] }).ready,
    );
    expect(other.code).toBe('E_PORT_TAKEN');
    await until(() => h.host.tunnels().length === 0, 10_000, 'grace expiry');
    const later = client(h, { tunnels: [{ name: 'next', localPort: web, remotePort: t!.remotePort }] });
    expect((await later.ready)[0]!.remotePort).toBe(t!.remotePort);
  });

  it('garbage and silent connections on the control port do not disturb an established tunnel', async () => {
    const h = await host({ handshakeTimeoutMs: 300 });
    const logs: string[] = [];
    h.host.on('log', (l) => logs.push(l.message));
    const echo = await echoServer();
    const [t] = await client(h, { tunnels: [{ name: 'e', localPort: echo }] }).ready;
    const garbage = net.connect(h.port, '127.0.0.1');
    const huge = net.connect(h.port, '127.0.0.1');
    const silent = net.connect(h.port, '127.0.0.1');
    for (const s of [garbage, huge, silent]) {
      defer(() => s.destroy());
      s.on('error', () => undefined);
    }
    garbage.write('GET / HTTP/1.1\r\n\r\n');
    huge.write(Buffer.concat([Buffer.from('P2RC\x01', 'latin1'), Buffer.from([0x7f, 0xff, 0xff, 0xff, 1])]));
    await Promise.all([once(garbage, 'close'), once(huge, 'close'), once(silent, 'close')]);
    expect(logs.some((m) => m.includes('unrecognized protocol') || m.includes('plaintext'))).toBe(true);
    expect(logs.some((m) => m.includes('handshake not completed'))).toBe(true);
    const msg = Buffer.from('still here');
    expect((await roundTrip(t!.remotePort, msg)).sha).toBe(sha256(msg));
  });

  it('notices a black-holed host within two heartbeats and reconnects', async () => {
    const h = await host({ heartbeatMs: 300 });
    const proxy = await blackholeProxy(h.port);
    const echo = await echoServer();
    const c = client(h, { port: proxy.port, heartbeatMs: 300, tunnels: [{ name: 'e', localPort: echo }] });
    const [t] = await c.ready;
    const lost = new Promise<ClientStatus>((resolve) =>
      c.on('status', (s) => s.state === 'reconnecting' && resolve(s)),
    );
    const frozenAt = Date.now();
    proxy.freeze();
    const status = await lost;
    const detectedMs = Date.now() - frozenAt;
    expect(status.state === 'reconnecting' && isP2prcError(status.error, 'E_TIMEOUT')).toBe(true);
    expect(detectedMs).toBeLessThan(3 * 300 + 500); // two intervals plus one tick of the timer, with slack for a loaded machine
    proxy.thaw();
    await once(c, 'published');
    const msg = Buffer.from('recovered');
    expect((await roundTrip(t!.remotePort, msg)).sha).toBe(sha256(msg));
  });
});
