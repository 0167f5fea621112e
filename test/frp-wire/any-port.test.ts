import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FrpWireClient, type FrpWireTunnel } from '../../src/frp-wire/client/client.js';
import { FrpWirePublisher } from '../../src/frp-wire/client/publisher.js';
import { runHostService } from '../../src/modes/host.js';
import { echoExact, echoServer, freePort, host, sha256, until } from '../helpers/engine.js';
import { FRP_DIR, FRP_SKIP, frpProcesses } from '../helpers/frp.js';
import type { HostHandle } from '../../src/index.js';
import { useWorkspace } from '../helpers/workspace.js';

/**
 * "Any" public port through a host that speaks frp: the client sends remote_port 0, the host picks a
 * port inside its allowed ports and names it in NewProxyResp's remote_addr, and the client publishes
 * that port. Against the p2prc host's frp-wire server here, and against a real frps 0.31.2 below.
 */
const { tempDir, defer } = useWorkspace();

/** A range of 20 ports starting at a free one (those in use are skipped by the host's pick). */
async function portRange(): Promise<{ start: number; end: number; text: string }> {
  const start = Math.min(await freePort(), 65_000);
  return { start, end: start + 19, text: `${start}-${start + 19}` };
}

function wireClient(port: number, token: string, tunnels: FrpWireTunnel[]): FrpWireClient {
  const c = new FrpWireClient({
    host: '127.0.0.1',
    port,
    token,
    tcpMux: true,
    tls: false,
    tunnels,
    heartbeatMs: 1_000,
  });
  defer(() => c.close());
  return c;
}

const hostPortOf = (h: HostHandle, name: string) => h.host.tunnels().find((t) => t.name === name)?.port;

describe('remote_port 0 against a p2prc host (frp-wire server, no frp binary)', () => {
  it('with --allow-ports: the port is inside the range, and the one the client publishes', async () => {
    const range = await portRange();
    const h = await host({ allowPorts: range.text });
    const echo = await echoServer();
    const [pub] = await wireClient(h.port, h.token, [
      { name: 'web', localHost: '127.0.0.1', localPort: echo, remotePort: 0 },
    ]).start();
    expect(pub!.remotePort).toBeGreaterThanOrEqual(range.start);
    expect(pub!.remotePort).toBeLessThanOrEqual(range.end);
    expect(pub!.publicAddress).toBe(`127.0.0.1:${pub!.remotePort}`);
    expect(hostPortOf(h, 'web')).toBe(pub!.remotePort);
    const payload = randomBytes(64 * 1024);
    expect(await echoExact(pub!.remotePort, payload)).toBe(sha256(payload));
  });

  it('without --allow-ports: a proxy lost and back within the grace asks for 0 and gets its port again', async () => {
    const h = await host({ graceMs: 30_000 });
    const echo = await echoServer();
    const tunnel = { name: 'back', localHost: '127.0.0.1', localPort: echo, remotePort: 0 };
    const first = wireClient(h.port, h.token, [tunnel]);
    const [was] = await first.start();
    await first.close(); // the connection drops without CloseProxy: the host holds the port for the grace
    await until(() => h.host.tunnels().find((t) => t.name === 'back')?.online === false, 5_000, 'the port held');
    const [now] = await wireClient(h.port, h.token, [tunnel]).start();
    expect(now!.remotePort).toBe(was!.remotePort);
  });

  it('an "any" tunnel asks for its previous port first and for 0 when that is outside the range', async () => {
    const range = await portRange();
    const h = await host({ allowPorts: range.text });
    const echo = await echoServer();
    const outside = range.start - 1;
    const p = new FrpWirePublisher({
      host: '127.0.0.1',
      port: h.port,
      token: h.token,
      tcpMux: true,
      tls: false,
      hostIsLocal: true,
      tunnels: [{ name: 'web', protocol: 'tcp', localPort: echo, remotePort: 'any', previous: outside }],
    });
    defer(() => p.close());
    const status: string[] = [];
    p.on('status', (s) => status.push(s));
    const [pub] = await p.start();
    expect(pub!.remotePort).toBeGreaterThanOrEqual(range.start);
    expect(pub!.remotePort).toBeLessThanOrEqual(range.end);
    expect(status.join('\n')).toContain(`frps refused port ${outside} for web`);
    // A fixed port outside the range stays refused: that is the answer.
    const fixed = wireClient(h.port, h.token, [
      { name: 'fixed', localHost: '127.0.0.1', localPort: echo, remotePort: outside },
    ]);
    await expect(fixed.start()).rejects.toMatchObject({ code: 'E_PORT_DENIED', details: { proxy: 'fixed' } });
  });

  it('asks for the previous port when it is free in the range, and gets it', async () => {
    const range = await portRange();
    const h = await host({ allowPorts: range.text });
    const echo = await echoServer();
    const wanted = range.start; // free a moment ago
    const [pub] = await wireClient(h.port, h.token, [
      { name: 'web', localHost: '127.0.0.1', localPort: echo, remotePort: wanted, anyPort: true },
    ]).start();
    expect(pub!.remotePort).toBe(wanted);
  });
});

describe.skipIf(!!FRP_SKIP)(
  `remote_port 0 against a real frps 0.31.2${FRP_SKIP ? ` — skipped: ${FRP_SKIP}` : ''}`,
  () => {
    it('with allow_ports: frps picks inside them, remote_addr says which, the tunnel carries bytes', async () => {
      const range = await portRange();
      const frps = await runHostService({
        configDir: tempDir('frps-any'),
        engine: 'frp',
        frpBinDir: FRP_DIR,
        controlPort: 0,
        bind: '127.0.0.1',
        token: 'any-port-token',
        allowPorts: range.text,
        noNodeServer: true,
        bootstrap: [],
      });
      defer(async () => {
        await frps.close();
        await until(() => frpProcesses().length === 0, 10_000, 'frps to exit');
      });
      const echo = await echoServer();
      const p = new FrpWirePublisher({
        host: '127.0.0.1',
        port: frps.handle.port,
        token: 'any-port-token',
        tcpMux: true,
        tls: false,
        hostIsLocal: true,
        tunnels: [
          { name: 'web', protocol: 'tcp', localPort: echo, remotePort: 'any' },
          // held before, but outside allow_ports now: refused ("port not allowed"), then frps's pick
          { name: 'old', protocol: 'tcp', localPort: echo, remotePort: 'any', previous: range.start - 1 },
        ],
      });
      defer(() => p.close());
      const published = await p.start();
      for (const t of published) {
        expect(t.remotePort).toBeGreaterThanOrEqual(range.start);
        expect(t.remotePort).toBeLessThanOrEqual(range.end);
        const payload = randomBytes(32 * 1024);
        expect(await echoExact(t.remotePort, payload)).toBe(sha256(payload));
      }
      expect(new Set(published.map((t) => t.remotePort)).size).toBe(2);
    }, 30_000);
  },
);
