import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { client, host, httpServer, until } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

useWorkspace();

function get(port: number, hostHeader: string, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers: { host: hostHeader }, agent: false }, (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (c) => (body += c))
          .on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

describe('native http tunnels on the host vhost port', () => {
  it('a domain and a subdomain are published, routed by Host, and freed when the client leaves', async () => {
    const h = await host({ vhostHttpPort: 0, subdomainHost: 'sub.test' });
    const vport = h.host.vhost!.port;
    const app = await httpServer((req, res) => res.end(`app ${req.headers.host} ${req.url}`));
    const blog = await httpServer((req, res) => res.end(`blog ${req.url}`));
    const c = client(h, {
      tunnels: [
        { name: 'app', protocol: 'http', domain: 'app.test', localPort: app },
        { name: 'blog', protocol: 'http', domain: 'blog', localPort: blog },
      ],
    });
    const published = await c.ready;
    expect(published.map((t) => t.publicAddress).sort()).toEqual([
      `http://app.test:${vport}`,
      `http://blog.sub.test:${vport}`,
    ]);
    expect(await get(vport, `app.test:${vport}`, '/x?y=1')).toEqual({
      status: 200,
      body: `app app.test:${vport} /x?y=1`,
    });
    expect(await get(vport, 'blog.sub.test', '/post')).toEqual({ status: 200, body: 'blog /post' });
    expect((await get(vport, 'other.test')).status).toBe(404);
    // A second client cannot take a claimed domain.
    const rival = client(h, {
      tunnels: [{ name: 'rival', protocol: 'http', domain: 'app.test', localPort: app }],
      exitOnLoginFailure: true,
    });
    await expect(rival.ready).rejects.toMatchObject({ code: 'E_CONFLICT' });
    await c.close();
    expect(h.host.vhost!.router.size).toBe(0);
    expect((await get(vport, 'app.test')).status).toBe(404);
  });

  it('the host lists an http tunnel with its domain, its requests and their bytes', async () => {
    const h = await host({ vhostHttpPort: 0 });
    const vport = h.host.vhost!.port;
    const app = await httpServer((_req, res) => res.end('x'.repeat(1000)));
    const c = client(h, { tunnels: [{ name: 'app', protocol: 'http', domain: 'app.test', localPort: app }] });
    await c.ready;
    for (let i = 0; i < 3; i++) expect((await get(vport, 'app.test', `/${i}`)).status).toBe(200);
    const [t] = h.host.tunnels().filter((x) => x.name === 'app');
    expect(t).toMatchObject({ protocol: 'http', domain: 'app.test', port: vport, connections: 3, online: true });
    expect(t!.bytesOut).toBeGreaterThan(3000); // three 1000-byte bodies and their headers went out
    expect(t!.bytesIn).toBeGreaterThan(3 * 'GET /0 HTTP/1.1\r\n'.length);
  });

  it('a host without a vhost port refuses http tunnels with E_NOT_AVAILABLE', async () => {
    const h = await host();
    const app = await httpServer();
    const c = client(h, {
      tunnels: [{ name: 'app', protocol: 'http', domain: 'app.test', localPort: app }],
      exitOnLoginFailure: true,
    });
    await expect(c.ready).rejects.toMatchObject({ code: 'E_NOT_AVAILABLE' });
  });
});

describe('the host vhost port under unfinished request heads', () => {
  it('one address holding unfinished heads gets a bounded number of them; whole requests still pass', async () => {
    const h = await host({ vhostHttpPort: 0, maxPendingPerSource: 4, maxPendingHandshakes: 64 });
    const vport = h.host.vhost!.port;
    const app = await httpServer((_req, res) => res.end('ok'));
    const c = client(h, { tunnels: [{ name: 'app', protocol: 'http', domain: 'app.test', localPort: app }] });
    await c.ready;
    // Ten connections from one address, each an unfinished head.
    const slow = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const s = net.connect(vport, '127.0.0.1');
        s.on('error', () => undefined);
        await once(s, 'connect');
        s.write('GET / HTTP/1.1\r\nHost: app.test\r\n');
        return s;
      }),
    );
    const closed = await Promise.all(
      slow.map((s) =>
        Promise.race([
          new Promise((r) => s.once('close', () => r(true))),
          new Promise((r) => setTimeout(() => r(false), 1_000)),
        ]),
      ),
    );
    expect(closed.filter(Boolean).length).toBe(6);
    slow.forEach((s) => s.destroy());
    // Their slots come back as the host sees them close; then whole requests pass again.
    await until(async () => (await get(vport, 'app.test').catch(() => undefined))?.status === 200, 5_000, 'a request');
  });
});
