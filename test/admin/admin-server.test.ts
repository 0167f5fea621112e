import { describe, expect, it } from 'vitest';
import { AdminServer } from '../../src/admin/admin-server.js';
import type { AdminSource, TunnelView } from '../../src/admin/model.js';
import { generateSelfSignedCert } from '../../src/transport/cert.js';
import { useWorkspace } from '../helpers/workspace.js';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { DASHBOARD_HTML } from '../../src/admin/pages.js';

const { defer } = useWorkspace();

const tunnel: TunnelView = {
  name: 'web',
  owner: 'alice',
  publicPort: 6001,
  domain: null,
  target: null,
  protocol: 'tcp',
  engine: 'native',
  online: true,
  visitorsNow: 1,
  visitorsTotal: 3,
  bytesIn: 300,
  bytesOut: 4000,
  since: '2025-01-01T00:00:00.000Z',
};
/** A source holding plain data the test can change: what the server shows must follow it. */
function source(): AdminSource & { list: TunnelView[] } {
  const list = [tunnel];
  return {
    role: 'host',
    list,
    clients: () => [
      {
        id: 'c1',
        name: 'alice',
        address: '127.0.0.1:5555',
        since: tunnel.since,
        tunnels: list.length,
        bytesIn: 300,
        bytesOut: 4000,
      },
    ],
    tunnels: () => list,
    stats: () => ({ pendingHandshakes: 2, dataPoolSize: 4, dataPoolMisses: 7 }),
  };
}

async function start(extra: Partial<ConstructorParameters<typeof AdminServer>[0]> = {}): Promise<AdminServer> {
  const s = new AdminServer({ source: source(), token: 'tok', port: 0, ...extra });
  defer(() => s.close());
  await s.listen();
  return s;
}

const auth = { authorization: 'Bearer tok' };

describe('AdminServer', () => {
  it('answers 401 on every route without the right bearer token', async () => {
    const s = await start();
    for (const route of ['/', '/metrics', '/api/clients', '/api/tunnels', '/api/events', '/nope']) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 'tok' }] as Array<
        Record<string, string>
      >) {
        const res = await fetch(`${s.url}${route.slice(1)}`, { headers });
        expect(res.status, `${route} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
    }
  });

  it('serves the JSON views, events and 404', async () => {
    const s = await start();
    const tunnels = await (await fetch(`${s.url}api/tunnels`, { headers: auth })).json();
    expect(tunnels).toEqual({ role: 'host', tunnels: [tunnel] });
    const clients = await (await fetch(`${s.url}api/clients`, { headers: auth })).json();
    expect(clients.clients[0]).toMatchObject({ id: 'c1', name: 'alice', tunnels: 1 });
    s.record({ type: 'refused', reason: 'auth', peer: '127.0.0.1:1', message: 'bad proof' });
    const last = s.record({ type: 'login', client: 'alice', peer: '127.0.0.1:2', message: 'alice connected' });
    const events = await (await fetch(`${s.url}api/events`, { headers: auth })).json();
    expect(events.events.map((e: { type: string }) => e.type)).toEqual(['login']);
    expect(events.strangers).toMatchObject([{ reason: 'auth', count: 1, peer: '127.0.0.1:1', message: 'bad proof' }]);
    const newer = await (await fetch(`${s.url}api/events?after=${last!.seq}`, { headers: auth })).json();
    expect(newer.events).toEqual([]);
    expect((await fetch(`${s.url}nope`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${s.url}api/tunnels`, { method: 'POST', headers: auth })).status).toBe(405);
  });

  it("1,100 strangers' bad logins are counted per reason and push no login or tunnel event out", async () => {
    const s = await start();
    s.record({ type: 'login', client: 'alice', peer: '127.0.0.1:2', message: 'alice connected' });
    s.record({ type: 'tunnel-opened', tunnel: 'web', port: 6001, message: 'tunnel web opened' });
    s.record({ type: 'refused', reason: 'port_taken', client: 'alice', message: 'port 22 taken' });
    for (let i = 0; i < 1_100; i++)
      s.record({ type: 'refused', reason: i % 2 ? 'auth' : 'timeout', peer: `10.0.0.${i % 250}:1`, message: 'x' });
    const body = await (await fetch(`${s.url}api/events`, { headers: auth })).json();
    expect(body.events.map((e: { type: string }) => e.type)).toEqual(['login', 'tunnel-opened', 'refused']);
    expect(body.strangers.map((t: { reason: string; count: number }) => [t.reason, t.count]).sort()).toEqual([
      ['auth', 550],
      ['timeout', 550],
    ]);
    const text = await (await fetch(`${s.url}metrics`, { headers: auth })).text();
    expect(text).toContain('p2prc_logins_refused_total{reason="auth"} 550');
  });

  it('refuses a Host that is not the server (DNS rebinding) and sends CSP and X-Frame-Options on every response', async () => {
    const s = await start();
    const get = (host: string, path = '/api/tunnels') =>
      new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: s.port, path, headers: { ...auth, host } }, resolve);
        req.on('error', reject);
      }).then((res) => (res.resume(), res));
    expect((await get('attacker.example')).statusCode).toBe(421);
    expect((await get(`attacker.example:${s.port}`)).statusCode).toBe(421);
    for (const host of [`127.0.0.1:${s.port}`, `localhost:${s.port}`, 'localhost']) {
      const res = await get(host);
      expect(res.statusCode, host).toBe(200);
    }
    for (const [path, status] of [
      ['/api/tunnels', 200],
      ['/', 200],
      ['/nope', 404],
    ] as const) {
      const res = await get(`127.0.0.1:${s.port}`, path);
      expect(res.statusCode).toBe(status);
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['content-security-policy']).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
    }
    const denied = await fetch(s.url);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('x-frame-options')).toBe('DENY');
    // The dashboard's own inline script is allowed by its hash, and nothing else inline.
    const script = /<script>([\s\S]*?)<\/script>/.exec(DASHBOARD_HTML)![1]!;
    const csp = denied.headers.get('content-security-policy')!;
    expect(csp).toContain(`'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    expect(csp).not.toContain('unsafe-inline');
  });

  it('exposes p2prc_ metrics read from the source at scrape time, and event counters', async () => {
    const s = await start();
    s.record({ type: 'refused', reason: 'port_taken', message: 'x' });
    s.record({ type: 'login', message: 'y' });
    const text = await (await fetch(`${s.url}metrics`, { headers: auth })).text();
    expect(text).toContain('p2prc_connected_clients 1');
    expect(text).toContain('p2prc_tunnels{protocol="tcp",engine="native"} 1');
    expect(text).toContain('p2prc_visitor_connections_total{tunnel="web",port="6001"} 3');
    expect(text).toContain('p2prc_visitor_connections{tunnel="web",port="6001"} 1');
    expect(text).toContain('p2prc_tunnel_bytes_out_total{tunnel="web",port="6001"} 4000');
    expect(text).toContain('p2prc_data_pool_misses_total 7');
    expect(text).toContain('p2prc_pending_handshakes 2');
    expect(text).toContain('p2prc_logins_accepted_total 1');
    expect(text).toContain('p2prc_logins_refused_total{reason="port_taken"} 1');
    expect(text).toContain('p2prc_logins_refused_total{reason="auth"} 0');
    expect(text).toMatch(/^p2prc_process_cpu_user_seconds_total /m);
    // A second scrape after the tunnel changed shows the new figure, not an accumulated one.
    (s as unknown as { o: { source: { list: TunnelView[] } } }).o.source.list[0] = { ...tunnel, visitorsTotal: 5 };
    const again = await (await fetch(`${s.url}metrics`, { headers: auth })).text();
    expect(again).toContain('p2prc_visitor_connections_total{tunnel="web",port="6001"} 5');
  });

  it('refuses a non-loopback bind without TLS unless insecure', async () => {
    expect(() => new AdminServer({ source: source(), token: 't', port: 0, bind: '0.0.0.0' })).toThrow(
      expect.objectContaining({ code: 'E_USAGE' }),
    );
    expect(
      () => new AdminServer({ source: source(), token: 't', port: 0, bind: '0.0.0.0', insecure: true }),
    ).not.toThrow();
    const { keyPem, certPem } = generateSelfSignedCert();
    expect(
      () =>
        new AdminServer({
          source: source(),
          token: 't',
          port: 0,
          bind: '0.0.0.0',
          tls: { key: keyPem, cert: certPem },
        }),
    ).not.toThrow();
  });

  it('gives a browser a token prompt (still 401) and the dashboard with the token', async () => {
    const s = await start();
    const prompt = await fetch(s.url, { headers: { accept: 'text/html' } });
    expect(prompt.status).toBe(401);
    expect(await prompt.text()).toContain('id="token"');
    const page = await fetch(s.url, { headers: { ...auth, accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<table id="tunnels">');
  });
});
