import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { FrpWireClient, type FrpWireTunnel } from '../../src/frp-wire/client/client.js';
import { generateSelfSignedCert, type SelfSignedCert } from '../../src/transport/cert.js';
import type { HostHandle } from '../../src/index.js';
import { client, host, listen, until } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

/** A local HTTPS service with its own self-signed certificate: what the visitor must see, untouched. */
async function tlsService(name: string): Promise<{ port: number; cert: SelfSignedCert }> {
  const cert = generateSelfSignedCert(name);
  const server = https.createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) =>
    res.end(`${name} says hello to ${req.headers.host} ${req.url}`),
  );
  defer(() => server.closeAllConnections());
  return { port: await listen(server), cert };
}

/** A TLS visit to the vhost port: the certificate's fingerprint and the service's answer. */
async function visit(port: number, servername: string, path = '/'): Promise<{ fingerprint: string; body: string }> {
  const socket = tls.connect({ port, host: '127.0.0.1', servername, rejectUnauthorized: false });
  defer(() => socket.destroy());
  await once(socket, 'secureConnect');
  const fingerprint = socket.getPeerX509Certificate()!.fingerprint256;
  socket.end(`GET ${path} HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`);
  let text = '';
  for await (const chunk of socket) text += String(chunk);
  return { fingerprint, body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

/** How a connection to the vhost port ended: 'closed' before any TLS answer, or 'secure'. */
async function outcome(port: number, o: { servername?: string; raw?: Buffer }): Promise<'closed' | 'secure'> {
  const socket = o.raw
    ? net.connect({ port, host: '127.0.0.1' })
    : tls.connect({
        port,
        host: '127.0.0.1',
        rejectUnauthorized: false,
        ...(o.servername ? { servername: o.servername } : {}),
      });
  defer(() => socket.destroy());
  if (o.raw) socket.write(o.raw);
  let secure = false;
  let answered = false;
  socket.on('secureConnect', () => {
    secure = true;
    socket.destroy();
  });
  socket.on('data', () => (answered = true));
  socket.on('error', () => undefined); // a refused TLS client errors; what counts is that it closed
  await new Promise((resolve) => socket.once('close', resolve));
  return secure || answered ? 'secure' : 'closed';
}

function frpClient(h: HostHandle, tunnels: FrpWireTunnel[]): FrpWireClient {
  const c = new FrpWireClient({
    host: '127.0.0.1',
    port: h.port,
    token: h.token,
    tcpMux: true,
    tls: true,
    tunnels,
    heartbeatMs: 1_000,
  });
  defer(() => c.close());
  return c;
}

describe('the HTTPS vhost port (SNI routing, TLS untouched)', () => {
  it('routes by server name to a native https tunnel and to an frp https proxy, each with its own certificate', async () => {
    const h = await host({ vhostHttpsPort: 0, subdomainHost: 'sub.test' });
    const vport = h.host.httpsVhost!.port;
    const app = await tlsService('app.test');
    const frp = await tlsService('frp.test');
    const c = client(h, { tunnels: [{ name: 'app', protocol: 'https', domain: 'app.test', localPort: app.port }] });
    expect((await c.ready).map((t) => t.publicAddress)).toEqual([`https://app.test:${vport}`]);
    await frpClient(h, [
      {
        name: 'web',
        protocol: 'https',
        localHost: '127.0.0.1',
        localPort: frp.port,
        remotePort: vport,
        customDomains: ['frp.test'],
      },
    ]).start();

    expect(await visit(vport, 'app.test', '/x')).toEqual({
      fingerprint: app.cert.fingerprint,
      body: `app.test says hello to app.test /x`,
    });
    expect(await visit(vport, 'FRP.test')).toEqual({
      fingerprint: frp.cert.fingerprint,
      body: 'frp.test says hello to FRP.test /',
    });

    const listed = h.host.tunnels().map((t) => [t.name, t.protocol, t.domain, t.port, t.engine]);
    expect(listed).toEqual(
      expect.arrayContaining([
        ['app', 'https', 'app.test', vport, 'native'],
        ['web', 'https', 'frp.test', vport, 'frp-wire'],
      ]),
    );
    expect(h.host.tunnels().find((t) => t.name === 'app')!.connections).toBe(1);

    await c.close();
    expect(await outcome(vport, { servername: 'app.test' })).toBe('closed'); // the route went with its client
  });

  it('closes an unknown name, a ClientHello without a name, and what is not TLS', async () => {
    const h = await host({ vhostHttpsPort: 0 });
    const vport = h.host.httpsVhost!.port;
    const app = await tlsService('app.test');
    await client(h, { tunnels: [{ name: 'app', protocol: 'https', domain: 'app.test', localPort: app.port }] }).ready;
    expect(await outcome(vport, { servername: 'other.test' })).toBe('closed');
    expect(await outcome(vport, {})).toBe('closed'); // Node sends no server name for an IP address
    expect(await outcome(vport, { raw: Buffer.from('GET / HTTP/1.1\r\nHost: app.test\r\n\r\n') })).toBe('closed');
    expect(await outcome(vport, { servername: 'app.test' })).toBe('secure');
  });

  it('closes a ClientHello over the cap at its header, and a slow one at the handshake timeout', async () => {
    const h = await host({ vhostHttpsPort: 0, handshakeTimeoutMs: 2_000 });
    const vport = h.host.httpsVhost!.port;
    // A 16 KiB ClientHello cannot fit in the 16 KiB + header the host reads: closed on sight, not at the timeout.
    let started = Date.now();
    expect(await outcome(vport, { raw: Buffer.from([0x16, 3, 1, 0x40, 0x00, 1, 0, 0x40, 0x00]) })).toBe('closed');
    expect(Date.now() - started).toBeLessThan(1_500);
    started = Date.now();
    expect(await outcome(vport, { raw: Buffer.from([0x16, 3, 1, 0x00, 0x40, 1]) })).toBe('closed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
  });

  it("ClientHellos in progress are bounded per source, as the control port's handshakes are", async () => {
    const h = await host({ vhostHttpsPort: 0, maxPendingPerSource: 1, handshakeTimeoutMs: 30_000 });
    const vport = h.host.httpsVhost!.port;
    const app = await tlsService('app.test');
    await client(h, { tunnels: [{ name: 'app', protocol: 'https', domain: 'app.test', localPort: app.port }] }).ready;
    expect(await outcome(vport, { servername: 'app.test' })).toBe('secure');
    const slow = net.connect({ port: vport, host: '127.0.0.1' });
    defer(() => slow.destroy());
    slow.write(Buffer.from([0x16, 3, 1])); // holds the one place of 127.0.0.1 until the timeout
    await once(slow, 'connect'); // accepted, and so admitted, before any later connection is
    expect(await outcome(vport, { servername: 'app.test' })).toBe('closed');
    slow.destroy();
    await once(slow, 'close');
    await until(async () => (await outcome(vport, { servername: 'app.test' })) === 'secure', 10_000, 'the place back');
  });

  it('a wildcard domain, and a name owned by one service at a time (E_CONFLICT), for native and frp clients alike', async () => {
    const h = await host({ vhostHttpsPort: 0 });
    const vport = h.host.httpsVhost!.port;
    const app = await tlsService('any.wild.test');
    await client(h, { tunnels: [{ name: 'wild', protocol: 'https', domain: '*.wild.test', localPort: app.port }] })
      .ready;
    expect((await visit(vport, 'a.b.wild.test')).fingerprint).toBe(app.cert.fingerprint);
    const rival = client(h, {
      tunnels: [{ name: 'rival', protocol: 'https', domain: '*.wild.test', localPort: app.port }],
      exitOnLoginFailure: true,
    });
    await expect(rival.ready).rejects.toMatchObject({ code: 'E_CONFLICT' });
    const frp = frpClient(h, [
      {
        name: 'rival',
        protocol: 'https',
        localHost: '127.0.0.1',
        localPort: app.port,
        remotePort: vport,
        customDomains: ['*.wild.test'],
      },
    ]);
    await expect(frp.start()).rejects.toThrow(/already routed/);
  });

  it("a host without an HTTPS vhost port refuses https tunnels: E_NOT_AVAILABLE, and frps's words to frpc", async () => {
    const h = await host({ vhostHttpPort: 0 });
    const app = await tlsService('app.test');
    const c = client(h, {
      tunnels: [{ name: 'app', protocol: 'https', domain: 'app.test', localPort: app.port }],
      exitOnLoginFailure: true,
    });
    await expect(c.ready).rejects.toMatchObject({
      code: 'E_NOT_AVAILABLE',
      message: expect.stringMatching(/--vhost-https-port/),
    });
    const frp = frpClient(h, [
      {
        name: 'web',
        protocol: 'https',
        localHost: '127.0.0.1',
        localPort: app.port,
        remotePort: 443,
        customDomains: ['app.test'],
      },
    ]);
    await expect(frp.start()).rejects.toThrow('type [https] not support when vhost_https_port is not set');
  });
});
