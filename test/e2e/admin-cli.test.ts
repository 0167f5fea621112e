import { beforeEach, describe, expect, it } from 'vitest';
import { readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import http from 'node:http';
import { once } from 'node:events';
import { runCli, startCli } from '../helpers/cli.js';
import { getOnce } from '../helpers/admin.js';
import { until } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir, defer } = useWorkspace();
let dir: string;
beforeEach(() => {
  dir = tempDir('admin-cli');
});

async function web(): Promise<number> {
  const s = http.createServer((req, res) => res.end(`hi ${req.url}`));
  defer(() => s.close());
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return (s.address() as { port: number }).port;
}

const jsonLines = async (file: string) =>
  (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('admin API, views and logs from the CLI', () => {
  it('host and client admin servers, --view-clients and --view-rpm live, JSON logs reopened on SIGHUP, fallbacks', async () => {
    const hostDir = path.join(dir, 'host');
    const clientDir = path.join(dir, 'client');
    const logFile = path.join(dir, 'host.log');
    const host = startCli([
      '-s',
      '--reverse-proxy',
      '--bind',
      '127.0.0.1',
      '--control-port',
      '0',
      '--port',
      '0',
      '--admin-port',
      '0',
      '--log-format',
      'json',
      '--log-file',
      logFile,
      '--config-dir',
      hostDir,
    ]);
    const dash = await host.waitFor((l) => l.includes('Dashboard:'));
    const url = /Dashboard:\s+(http:\/\/127\.0\.0\.1:\d+\/)#token=(\S+)/.exec(dash)!;
    const token = decodeURIComponent(url[2]!);
    const control = /Control address:\s+127\.0\.0\.1:(\d+)/.exec(host.stdout.join('\n'))![1]!;
    expect((await fetch(`${url[1]}api/clients`)).status).toBe(401);

    const local = await web();
    const client = startCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${control}`,
      '--token',
      token,
      '--name',
      'alice',
      '--expose',
      String(local),
      '--admin-port',
      '0',
      '--config-dir',
      clientDir,
    ]);
    const exposed = await client.waitFor(
      (l) => l.startsWith('Published:') && new RegExp(`-> 127\\.0\\.0\\.1:${local}( |$)`).test(l),
    );
    // The admin line follows the Published lines, once everything is up.
    await client.waitFor((l) => l.startsWith('Admin: http://127.0.0.1:'));
    const publicPort = Number(/:(\d+) -> /.exec(exposed)![1]);
    for (let i = 0; i < 3; i++) expect((await getOnce(publicPort, `/x${i}`)).body).toBe(`hi /x${i}`);

    const clients = await runCli(['--view-clients', '--json', '--config-dir', hostDir]);
    expect(clients.code).toBe(0);
    const view = JSON.parse(clients.stdout) as {
      source: string;
      clients: Array<{ name: string }>;
      tunnels: Array<{ name: string; publicPort: number; visitorsTotal: number }>;
    };
    expect(view.source).toBe('api');
    expect(view.clients.map((c) => c.name)).toEqual(['alice']);
    expect(view.tunnels.find((t) => t.publicPort === publicPort)).toMatchObject({
      name: `expose-${local}`,
      visitorsTotal: 3,
    });
    const table = await runCli(['--view-clients', '--config-dir', hostDir]);
    expect(table.stdout).toMatch(/CLIENT\s+ADDRESS\s+SINCE\s+TUNNELS\s+IN\s+OUT/);
    expect(table.stdout).toMatch(new RegExp(`expose-${local}\\s+alice\\s+${publicPort}\\s`));

    const rpm = await runCli(['--view-rpm', '--config-dir', clientDir]);
    expect(rpm.stdout).toContain('Live from the admin API of pid');
    expect(rpm.stdout).toMatch(
      new RegExp(
        `expose-${local}\\s+self\\s+${publicPort}\\s+127\\.0\\.0\\.1:${local}\\s+tcp\\s+native\\s+\\d+\\s+3\\s`,
      ),
    );

    // A refusal is logged with its reason code and the peer; logrotate moves the file, SIGHUP starts a new one.
    const bad = await runCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${control}`,
      '--token',
      'wrong',
      '--exit-on-login-failure',
      '--config-dir',
      path.join(dir, 'bad'),
    ]);
    expect(bad.code).toBe(3);
    await until(async () => (await jsonLines(logFile)).some((l) => l.event === 'refused'), 10_000, 'refusal logged');
    const refused = (await jsonLines(logFile)).find((l) => l.event === 'refused')!;
    expect(refused).toMatchObject({ level: 'warn', code: 'E_AUTH', stage: 'login' });
    expect(refused.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(Date.parse(refused.time as string)).not.toBeNaN();
    expect((await jsonLines(logFile)).some((l) => l.event === 'login' && l.client === 'alice')).toBe(true);
    await rename(logFile, `${logFile}.1`);
    host.child.kill('SIGHUP');
    await client.stop('SIGINT');
    await until(
      async () => (await readFile(logFile, 'utf8').catch(() => '')).includes('"event":"logout"'),
      10_000,
      'logout in the reopened file',
    );
    expect(await readFile(`${logFile}.1`, 'utf8')).not.toContain('"event":"logout"');

    // Client gone: --view-rpm shows the records only. Host gone: --view-clients says so and shows records.
    const rpmAfter = await runCli(['--view-rpm', '--config-dir', clientDir]);
    expect(rpmAfter.stdout).not.toContain('Live from the admin API');
    expect(rpmAfter.stdout).toMatch(/NAME\s+KIND\s+PROTO/);
    await host.stop('SIGINT');
    const after = await runCli(['--view-clients', '--config-dir', hostDir]);
    expect(after.code).toBe(0);
    expect(after.stderr).toContain('live view unavailable');
  });

  it('refuses a non-loopback admin bind without TLS, and client status lines carry a timestamp', async () => {
    const r = await runCli([
      '-s',
      '--reverse-proxy',
      '--bind',
      '127.0.0.1',
      '--control-port',
      '0',
      '--port',
      '0',
      '--admin-port',
      '0',
      '--admin-bind',
      '0.0.0.0',
      '--config-dir',
      dir,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('E_USAGE');
    expect(r.stderr).toContain('--admin-insecure');
    const c = await runCli([
      '-s',
      '--connect-reverse-proxy',
      '127.0.0.1:1',
      '--token',
      't',
      '--no-tls',
      '--exit-on-login-failure',
      '--log-level',
      'debug',
      '--config-dir',
      dir,
    ]);
    expect(c.code).toBe(5);
    for (const line of c.stderr.split('\n').filter((l) => l && !l.startsWith('p2prc: error')))
      expect(line).toMatch(/^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] (error|warn|info|debug): /);
  });
});
