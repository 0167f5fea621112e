import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { once } from 'node:events';
import path from 'node:path';
import { parsePublished, runCli, startCli, type Running } from '../helpers/cli.js';
import { until } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir } = useWorkspace();
const TOKEN = 'discovery-token';
const FAST = ['--exchange-interval', '0.3', '--stale-after', '30'];

async function host(
  extra: string[] = [],
): Promise<{ proc: Running; port: number; nodePort: number; dir: string; fingerprint: string }> {
  const dir = tempDir('disc');
  const proc = startCli([
    '-s',
    '--reverse-proxy',
    '--bind',
    '127.0.0.1',
    '--control-port',
    '0',
    '--port',
    '0',
    '--token',
    TOKEN,
    '--heartbeat',
    '0.5',
    '--grace',
    '2',
    '--json',
    '--config-dir',
    dir,
    ...FAST,
    ...extra,
  ]);
  const info = JSON.parse(await proc.waitFor((l) => l.includes('"host-started"'))) as {
    port: number;
    nodePort: number;
    fingerprint: string;
  };
  return { proc, port: info.port, nodePort: info.nodePort, dir, fingerprint: info.fingerprint };
}

async function node(dir: string, bootstrap: string[]): Promise<{ proc: Running; port: number }> {
  const proc = startCli([
    '-s',
    '--port',
    '0',
    '--bind',
    '127.0.0.1',
    '--json',
    '--config-dir',
    dir,
    ...FAST,
    ...bootstrap.flatMap((b) => ['--bootstrap', b]),
  ]);
  const info = JSON.parse(await proc.waitFor((l) => l.includes('"node-started"'))) as { port: number };
  return { proc, port: info.port };
}

async function knownControlPorts(dir: string): Promise<number[]> {
  const r = await runCli(['--view-rps', '--json', '--offline', '--config-dir', dir]);
  return (JSON.parse(r.stdout) as { servers: Array<{ controlPort: number }> }).servers.map((s) => s.controlPort).sort();
}

describe('finding reverse proxies over the P2PRC network', () => {
  it('a node bootstrapped from one other node learns all three proxies within two exchange rounds', async () => {
    const hosts = [await host(), await host(), await host()];
    const dirA = tempDir('disc');
    const dirB = tempDir('disc');
    const a = await node(
      dirA,
      hosts.map((h) => `127.0.0.1:${h.nodePort}`),
    );
    await node(dirB, [`127.0.0.1:${a.port}`]);
    const expected = hosts.map((h) => h.port).sort();
    await until(
      async () => JSON.stringify(await knownControlPorts(dirB)) === JSON.stringify(expected),
      10_000,
      'node B to learn the three proxies',
    );
    const rps = JSON.parse((await runCli(['--view-rps', '--json', '--config-dir', dirB])).stdout) as {
      servers: Array<{ state: string; source: string }>;
    };
    expect(rps.servers.every((s) => s.state === 'alive' && s.source.startsWith('http://127.0.0.1:'))).toBe(true);
  }, 60_000);

  it('auto picks a reachable host, fails over when it stops, and reports the new public address', async () => {
    const hosts = [await host(), await host()];
    const dir = tempDir('disc');
    await node(
      dir,
      hosts.map((h) => `127.0.0.1:${h.nodePort}`),
    );
    await until(async () => (await knownControlPorts(dir)).length === 2, 10_000, 'both proxies known');
    const client = startCli([
      '-s',
      '--connect-reverse-proxy',
      'auto',
      '--token',
      TOKEN,
      '--failover-after',
      '1',
      '--heartbeat',
      '0.5',
      '--config-dir',
      dir,
      ...FAST,
    ]);
    const first = parsePublished(await client.waitFor((l) => l.startsWith('Published:')));
    // Status lines carry a timestamp and a level: "[2025-...Z] info: chose reverse proxy ...".
    expect(client.stderr.some((l) => /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] info: chose reverse proxy/.test(l))).toBe(true);
    const chosen = hosts.find((h) => client.stderr.some((l) => l.includes(`chose reverse proxy 127.0.0.1:${h.port}`)))!;
    const stoppedAt = Date.now();
    await chosen.proc.stop('SIGKILL');
    await until(
      () => client.stdout.filter((l) => l.startsWith('Published:')).length >= 2,
      2_000 + 1_000 + 5_000 + 5_000,
      'failover',
    );
    expect(Date.now() - stoppedAt).toBeLessThan(2_000 + 1_000 + 5_000 + 5_000);
    const moved = parsePublished(client.stdout.filter((l) => l.startsWith('Published:')).at(-1)!);
    expect(moved.publicAddress).not.toBe(first.publicAddress);
    const table = (await (await fetch(`http://${moved.publicAddress}/ip_table`)).json()) as {
      ip_address: Array<Record<string, unknown>>;
    };
    expect(table.ip_address[0]!.ServerPort).toBe(String(moved.port));
    const rpm = JSON.parse((await runCli(['--view-rpm', '--json', '--config-dir', dir])).stdout) as {
      mappings: Array<{ publicPort: number; proxyControlPort: number; state: string }>;
    };
    expect(rpm.mappings.find((m) => m.state === 'active')).toMatchObject({
      publicPort: moved.port,
      proxyControlPort: hosts.find((h) => h !== chosen)!.port,
    });
  }, 60_000);

  it('survives hostile IP tables from a peer: wrong types, 100,000 entries, huge strings', async () => {
    const good = { Name: 'n', IPV4: '127.0.0.1', ServerPort: '9', ProxyServer: true, ReverseProxy: { ControlPort: 7 } };
    const bodies = [
      // Bad entries beside a good one: each is rejected on its own, the good proxy is still learned.
      JSON.stringify({ ip_address: [{ ...good, Name: 5 }, { ...good, ServerPort: 'x' }, good] }),
      JSON.stringify({
        ip_address: Array.from({ length: 100_000 }, (_, i) => ({ ...good, ServerPort: String(1 + (i % 60000)) })),
      }),
      JSON.stringify({ ip_address: [{ ...good, CustomInformation: 'y'.repeat(200_000) }] }),
      '{"ip_address": [',
    ];
    let n = 0;
    const evil = http.createServer((req, res) => res.end(bodies[n++ % bodies.length]));
    evil.listen(0, '127.0.0.1');
    await once(evil, 'listening');
    try {
      const dir = tempDir('disc');
      const victim = await node(dir, [`127.0.0.1:${(evil.address() as { port: number }).port}`]);
      await until(() => n >= 8, 15_000, 'two passes over the hostile bodies');
      const table = (await (await fetch(`http://127.0.0.1:${victim.port}/ip_table`)).json()) as {
        ip_address: unknown[];
      };
      expect(table.ip_address.length).toBeLessThanOrEqual(1001);
      expect(victim.proc.child.exitCode).toBeNull();
      // The one well-formed proxy (127.0.0.1:7) is recorded exactly once, and nothing from the hostile
      // tables is; a missing file is a failure, not an empty list.
      const file = path.join(dir, 'reverse_proxy_server.json');
      const servers = async () =>
        (JSON.parse(await readFile(file, 'utf8')) as { servers: Array<{ id: string; controlPort: number }> }).servers;
      await until(async () => (await servers().catch(() => [])).length > 0, 10_000, 'the proxy record');
      expect((await servers()).map((s) => [s.id, s.controlPort])).toEqual([['127.0.0.1:7', 7]]);
    } finally {
      evil.closeAllConnections();
      evil.close();
    }
  }, 60_000);
});
