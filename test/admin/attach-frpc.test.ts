import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FRP_DIR, FRP_SKIP } from '../helpers/frp.js';
import { echoExact, echoServer, freePort, httpServer, sha256, until } from '../helpers/engine.js';
import { adminJson, hostWithAdmin, metricsText } from '../helpers/admin.js';
import type { AdminEvent, ClientView, TunnelView } from '../../src/admin/model.js';
import type { StrangerRefusals } from '../../src/admin/events.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir, track } = useWorkspace();

async function frpc(
  hostPort: number,
  token: string,
  localPort: number,
  remotePort: number,
  proxy = `type = tcp\nremote_port = ${remotePort}`,
): Promise<string[]> {
  const dir = tempDir('frpc');
  const ini = path.join(dir, 'frpc.ini');
  await writeFile(
    ini,
    `[common]\nserver_addr = 127.0.0.1\nserver_port = ${hostPort}\ntoken = ${token}\nlog_file = console\nlogin_fail_exit = true\n\n[svc]\nlocal_ip = 127.0.0.1\nlocal_port = ${localPort}\n${proxy}\n`,
  );
  const proc = track(spawn(path.join(FRP_DIR, 'frpc'), ['-c', ini], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const log: string[] = [];
  proc.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
  return log;
}

/** fetch() drops a Host header; virtual hosts route on it. */
function getWithHost(port: number, hostHeader: string, urlPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, headers: { host: hostHeader }, agent: false }, (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (c) => (body += c))
          .on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe.skipIf(!!FRP_SKIP)(`admin views of stock frpc clients${FRP_SKIP ? ` — skipped: ${FRP_SKIP}` : ''}`, () => {
  it('lists an frpc login and its proxy (engine frp-wire) with exact visitor counts; a wrong token is a refusal with the peer', async () => {
    const { h, admin } = await hostWithAdmin({ token: 'frp-token' });
    const echo = await echoServer();
    const remote = await freePort();
    const log = await frpc(h.port, 'frp-token', echo, remote);
    await until(() => log.join('').includes('start proxy success'), 15_000, 'frpc to start its proxy');
    for (let i = 0; i < 3; i++)
      expect(await echoExact(remote, Buffer.from(`v${i}`))).toBe(sha256(Buffer.from(`v${i}`)));

    const { tunnels } = await adminJson<{ tunnels: TunnelView[] }>(admin.url, h.token, '/api/tunnels');
    expect(tunnels).toEqual([
      expect.objectContaining({ name: 'svc', publicPort: remote, engine: 'frp-wire', online: true, visitorsTotal: 3 }),
    ]);
    expect(tunnels[0]!.owner).toMatch(/^frpc [0-9a-f]+$/);
    const { clients } = await adminJson<{ clients: ClientView[] }>(admin.url, h.token, '/api/clients');
    expect(clients).toEqual([expect.objectContaining({ name: tunnels[0]!.owner, tunnels: 1 })]);
    expect(clients[0]!.address).toMatch(/^127\.0\.0\.1:\d+$/);

    const bad = await frpc(h.port, 'wrong', echo, await freePort());
    await until(() => bad.join('').includes('authorization failed'), 15_000, 'frpc to be refused');
    const { events, strangers } = await adminJson<{ events: AdminEvent[]; strangers: StrangerRefusals[] }>(
      admin.url,
      h.token,
      '/api/events',
    );
    // A login refused before authentication is a stranger's: counted per reason with its peer, not listed.
    expect(events.filter((e) => e.type === 'refused')).toEqual([]);
    expect(strangers).toMatchObject([{ reason: 'auth', count: 1 }]);
    expect(strangers[0]!.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(events.filter((e) => e.type === 'login')).toHaveLength(1);
    const text = await metricsText(admin.url, h.token);
    expect(text).toContain('p2prc_tunnels{protocol="tcp",engine="frp-wire"} 1');
    expect(text).toContain(`p2prc_visitor_connections_total{tunnel="svc",port="${remote}"} 3`);
    expect(text).toContain('p2prc_logins_refused_total{reason="auth"} 1');
    expect(text).toContain('p2prc_logins_accepted_total 1');
  }, 60_000);

  it('lists an frpc http proxy with its domain on the vhost port, and its requests', async () => {
    const { h, admin } = await hostWithAdmin({ token: 'frp-token', vhostHttpPort: 0 });
    const vport = h.host.vhost!.port;
    const web = await httpServer((req, res) => res.end(`page ${req.url}`));
    const log = await frpc(h.port, 'frp-token', web, 0, 'type = http\ncustom_domains = web.test');
    await until(() => log.join('').includes('start proxy success'), 15_000, 'frpc to start its proxy');
    for (let i = 0; i < 2; i++) {
      expect(await getWithHost(vport, 'web.test', `/p${i}`)).toBe(`page /p${i}`);
    }
    const { tunnels } = await adminJson<{ tunnels: TunnelView[] }>(admin.url, h.token, '/api/tunnels');
    expect(tunnels).toEqual([
      expect.objectContaining({
        name: 'svc',
        protocol: 'http',
        domain: 'web.test',
        publicPort: vport,
        engine: 'frp-wire',
        visitorsTotal: 2,
      }),
    ]);
    expect(tunnels[0]!.bytesOut).toBeGreaterThan(0);
    const text = await metricsText(admin.url, h.token);
    expect(text).toContain('p2prc_tunnels{protocol="http",engine="frp-wire"} 1');
  }, 60_000);
});
