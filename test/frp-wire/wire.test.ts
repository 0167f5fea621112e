import dgram from 'node:dgram';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FrpWireClient, type FrpWireTunnel } from '../../src/frp-wire/client/client.js';
import { echoExact, echoServer, host, sha256, udpEchoServer, until } from '../helpers/engine.js';
import type { HostHandle } from '../../src/index.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

/** The public port the host opened for an frp proxy, from its 'tunnel' event. */
function frpPort(h: HostHandle, name: string): Promise<number> {
  return new Promise((resolve) => {
    const on = (t: { name: string; port: number; engine?: string }) => {
      if (t.engine !== 'frp-wire' || t.name !== name) return;
      h.host.off('tunnel', on);
      resolve(t.port);
    };
    h.host.on('tunnel', on);
  });
}

function frpClient(
  h: HostHandle,
  tunnels: FrpWireTunnel[],
  o: { tcpMux: boolean; token?: string; tls?: boolean; tlsHeadByte?: boolean },
): FrpWireClient {
  const c = new FrpWireClient({
    host: '127.0.0.1',
    port: h.port,
    token: o.token ?? h.token,
    tcpMux: o.tcpMux,
    tls: o.tls ?? false,
    tlsHeadByte: o.tlsHeadByte,
    tunnels,
    heartbeatMs: 1_000,
  });
  defer(() => c.close());
  return c;
}

describe('the p2prc frp-wire client against the p2prc frp-wire server (no frp binary)', () => {
  it.each([true, false])(
    'tcp_mux=%s: logs in, opens a TCP proxy, carries 4 MiB both ways and 20 concurrent visitors',
    async (tcpMux) => {
      const h = await host();
      const echo = await echoServer();
      const port = frpPort(h, 'web');
      const published = await frpClient(h, [{ name: 'web', localHost: '127.0.0.1', localPort: echo, remotePort: 0 }], {
        tcpMux,
      }).start();
      expect(published.map((p) => p.name)).toEqual(['web']);
      const publicPort = await port;
      const payload = randomBytes(4 * 1024 * 1024);
      expect(await echoExact(publicPort, payload)).toBe(sha256(payload));
      const many = await Promise.all(
        Array.from({ length: 20 }, (_, i) => echoExact(publicPort, Buffer.from(`visitor ${i} `.repeat(100)))),
      );
      many.forEach((hash, i) => expect(hash).toBe(sha256(Buffer.from(`visitor ${i} `.repeat(100)))));
    },
  );

  // frpc 0.50+ opens TLS with a bare ClientHello (disableCustomTLSFirstByte defaults to true); older
  // frpc, and frpc told otherwise, send 0x17 first. Both reach the host's control port, with or without tcpMux.
  it.each([
    { tcpMux: true, tlsHeadByte: false },
    { tcpMux: false, tlsHeadByte: false },
    { tcpMux: true, tlsHeadByte: true },
  ])('over TLS (%o): logs in and carries a visitor byte for byte', async ({ tcpMux, tlsHeadByte }) => {
    const h = await host();
    const echo = await echoServer();
    const port = frpPort(h, 'web');
    await frpClient(h, [{ name: 'web', localHost: '127.0.0.1', localPort: echo, remotePort: 0 }], {
      tcpMux,
      tls: true,
      tlsHeadByte,
    }).start();
    const payload = randomBytes(256 * 1024);
    expect(await echoExact(await port, payload)).toBe(sha256(payload));
  });

  it('refuses a wrong token with E_AUTH and opens no port', async () => {
    const h = await host();
    const echo = await echoServer();
    const logs: string[] = [];
    h.host.on('log', (l) => logs.push(l.message));
    const c = frpClient(h, [{ name: 'web', localHost: '127.0.0.1', localPort: echo, remotePort: 0 }], {
      tcpMux: true,
      token: 'not-the-token',
    });
    await expect(c.start()).rejects.toMatchObject({ code: 'E_AUTH' });
    expect(h.host.tunnels()).toEqual([]);
    // Refusals are logged with their code and the peer address, so an operator can tell who was refused and why.
    expect(
      logs.some((m) => /^login from 127\.0\.0\.1:\d+ refused: E_AUTH frp login: authorization failed$/.test(m)),
    ).toBe(true);
  });

  it('a proxy asking for a port the host already gave away is refused with E_PORT_TAKEN', async () => {
    const h = await host();
    const echo = await echoServer();
    const first = frpPort(h, 'a');
    await frpClient(h, [{ name: 'a', localHost: '127.0.0.1', localPort: echo, remotePort: 0 }], {
      tcpMux: true,
    }).start();
    const taken = await first;
    const c = frpClient(h, [{ name: 'b', localHost: '127.0.0.1', localPort: echo, remotePort: taken }], {
      tcpMux: false,
    });
    await expect(c.start()).rejects.toMatchObject({ code: 'E_PORT_TAKEN', details: { proxy: 'b' } });
  });

  it('a UDP proxy relays datagrams both ways, each reply to the visitor that sent it', async () => {
    const h = await host();
    const echo = await udpEchoServer();
    const port = frpPort(h, 'dns');
    await frpClient(h, [{ name: 'dns', protocol: 'udp', localHost: '127.0.0.1', localPort: echo, remotePort: 0 }], {
      tcpMux: true,
    }).start();
    const publicPort = await port;
    const visitors = await Promise.all(
      [0, 1, 2].map(async () => {
        const s = dgram.createSocket('udp4');
        s.bind(0, '127.0.0.1');
        await once(s, 'listening');
        defer(() => s.close());
        const got: string[] = [];
        s.on('message', (m) => got.push(m.toString()));
        return { s, got };
      }),
    );
    // The proxy's UDP work connection comes up right after NewProxyResp; until then datagrams are dropped.
    await until(
      () => {
        visitors[0]!.s.send('probe', publicPort, '127.0.0.1');
        return visitors[0]!.got.includes('probe');
      },
      10_000,
      'the udp work connection',
    );
    visitors.forEach((v, i) => {
      for (let n = 0; n < 50; n++) v.s.send(`v${i}-${n}`, publicPort, '127.0.0.1');
    });
    await until(
      () => visitors.every((v, i) => v.got.filter((m) => m.startsWith(`v${i}-`)).length === 50),
      10_000,
      'all echoes',
    );
    visitors.forEach((v, i) =>
      expect(v.got.filter((m) => m !== 'probe').every((m) => m.startsWith(`v${i}-`))).toBe(true),
    );
  });
});
