import http from 'node:http';
import { client, host, httpServer } from './engine.js';
import { defer, tempDir } from './workspace.js';
import type { HostOptions } from '../../src/host/options.js';
import { hostAdminSource, recordHostEvents, startAdmin, type RunningAdmin } from '../../src/admin/attach.js';
import type { HostHandle, PublishedTunnel, ReverseProxyClient } from '../../src/index.js';

/** One HTTP request on its own TCP connection (no keep-alive): one visitor connection each. */
export function getOnce(port: number, urlPath = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: urlPath, agent: false, headers: { connection: 'close' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

/** GET an admin route with the bearer token. */
export async function adminJson<T>(url: string, token: string, route: string): Promise<T> {
  const res = await fetch(new URL(route, url), { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`${route}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export async function metricsText(url: string, token: string): Promise<string> {
  const res = await fetch(new URL('/metrics', url), { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`/metrics: HTTP ${res.status}`);
  return res.text();
}

/** A real host with its admin server (events recorded), torn down at cleanup. */
export async function hostWithAdmin(options: HostOptions = {}): Promise<{ h: HostHandle; admin: RunningAdmin }> {
  const h = await host(options);
  const admin = await startAdmin({
    source: hostAdminSource(h.host),
    token: h.token,
    flags: { port: 0 },
    configDir: tempDir('admin'),
  });
  defer(() => admin.close());
  recordHostEvents(h.host, admin.server);
  return { h, admin };
}

/** Client "alice" publishing an HTTP server ("hello <path>") as tunnel "web". */
export async function aliceWeb(h: HostHandle): Promise<{ c: ReverseProxyClient; web: number; t: PublishedTunnel }> {
  const web = await httpServer((req, res) => res.end(`hello ${req.url}`));
  const c = client(h, { name: 'alice', tunnels: [{ name: 'web', localPort: web }] });
  const [t] = await c.ready;
  return { c, web, t: t! };
}
