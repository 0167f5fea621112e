import { beforeEach, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';
import { killAll, parsePublished, runCli, startCli, type Running } from '../helpers/cli.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir } = useWorkspace();
let dir: string;
beforeEach(() => {
  dir = tempDir('cli');
});

async function startHost(
  extra: string[] = [],
): Promise<{ host: Running; port: number; token: string; fingerprint: string | null }> {
  const host = startCli([
    '-s',
    '--reverse-proxy',
    '--bind',
    '127.0.0.1',
    '--control-port',
    '0',
    '--port',
    '0',
    '--json',
    '--config-dir',
    dir,
    ...extra,
  ]);
  const line = await host.waitFor((l) => l.includes('"host-started"'));
  const info = JSON.parse(line) as { port: number; fingerprint: string | null; connectCommand: string };
  const token = /--token (\S+)/.exec(info.connectCommand)![1]!;
  return { host, port: info.port, token, fingerprint: info.fingerprint };
}

async function connectClient(port: number, extra: string[] = []): Promise<{ client: Running; published: string[] }> {
  const client = startCli(['-s', '--connect-reverse-proxy', `127.0.0.1:${port}`, '--config-dir', dir, ...extra]);
  await client.waitFor((l) => l.startsWith('Published:'));
  return { client, published: client.stdout.filter((l) => l.startsWith('Published:')) };
}

async function occupiedPort(): Promise<{ port: number; close: () => void }> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  return { port: (s.address() as net.AddressInfo).port, close: () => s.close() };
}

describe('p2prc CLI end to end', () => {
  it('publishes the node server; ip_table through the proxy shows the proxy address; views show it alive', async () => {
    const { host, port } = await startHost();
    const { client, published } = await connectClient(port);
    const pub = parsePublished(published[0]!);
    expect(pub.host).toBe('127.0.0.1');
    // host on the same machine: the node port is picked locally (the NAT bed checks the matched-port case)
    expect(pub.localPort).toBeGreaterThan(0);
    const table = (await (await fetch(`http://${pub.publicAddress}/ip_table`)).json()) as {
      ip_address: Array<Record<string, unknown>>;
    };
    expect(table.ip_address[0]).toMatchObject({
      IPV4: '127.0.0.1',
      ServerPort: String(pub.port),
      NAT: true,
      EscapeImplementation: 'P2PRC',
      ProxyServer: false,
    });
    const info = (await (await fetch(`http://${pub.publicAddress}/server_info`)).json()) as { role: string };
    expect(info.role).toBe('node');

    const rps = await runCli(['--view-rps', '--json', '--config-dir', dir]);
    expect(rps.code).toBe(0);
    const servers = (JSON.parse(rps.stdout) as { servers: Array<{ controlPort: number; state: string }> }).servers;
    expect(servers.some((s) => s.controlPort === port && s.state === 'alive')).toBe(true);
    const rpsTable = await runCli(['--view-reverse-proxy-servers', '--config-dir', dir]);
    expect(rpsTable.stdout).toMatch(/ADDRESS\s+CONTROL PORT\s+FINGERPRINT/);
    expect(rpsTable.stdout).toContain('alive');

    const rpm = await runCli(['--view-rpm', '--json', '--config-dir', dir]);
    const mappings = (
      JSON.parse(rpm.stdout) as { mappings: Array<{ publicPort: number; state: string; engine: string; pid: number }> }
    ).mappings;
    expect(mappings).toEqual([
      expect.objectContaining({ publicPort: pub.port, state: 'active', engine: 'native', pid: client.child.pid }),
    ]);

    expect(await client.stop('SIGINT')).toBe(0);
    const after = JSON.parse(
      (await runCli(['--view-reverse-proxy-mapping', '--json', '--config-dir', dir])).stdout,
    ) as { mappings: Array<{ state: string }> };
    expect(after.mappings.map((m) => m.state)).toEqual(['closed']);
    expect(await host.stop('SIGTERM')).toBe(0);
  });

  it('marks a SIGKILLed client stale and --prune removes it; --expose publishes another service', async () => {
    const svc = await occupiedPort();
    const { port } = await startHost(['--no-tls']);
    const { client } = await connectClient(port, ['--no-tls', '--expose', String(svc.port)]);
    await client.waitFor((l) => l.includes(`-> 127.0.0.1:${svc.port}`));
    client.child.kill('SIGKILL');
    await client.exited;
    const rpm = JSON.parse((await runCli(['--view-rpm', '--json', '--config-dir', dir])).stdout) as {
      mappings: Array<{ state: string }>;
    };
    expect(rpm.mappings.map((m) => m.state)).toEqual(['stale', 'stale']);
    const table = await runCli(['--view-rpm', '--config-dir', dir]);
    expect(table.stdout).toMatch(/NAME\s+KIND\s+PROTO\s+LOCAL\s+PUBLIC/);
    const pruned = JSON.parse((await runCli(['--view-rpm', '--prune', '--json', '--config-dir', dir])).stdout) as {
      pruned: number;
      mappings: unknown[];
    };
    expect(pruned).toMatchObject({ pruned: 2, mappings: [] });
    svc.close();
  });

  it('publishes UDP: the node UDP server and an --expose udp: service, shown in the IP table and --view-rpm', async () => {
    const { port } = await startHost(['--no-tls']);
    const { execFile } = await import('node:child_process');
    const dgram = await import('node:dgram');
    const echo = dgram.createSocket('udp4');
    echo.on('message', (m, r) => echo.send(m, r.port, r.address));
    echo.bind(0, '127.0.0.1');
    await once(echo, 'listening');
    const echoPort = echo.address().port;
    try {
      const client = startCli([
        '-s',
        '--connect-reverse-proxy',
        `127.0.0.1:${port}`,
        '--no-tls',
        '--udp-port',
        '0',
        '--expose',
        `udp:${echoPort}`,
        '--config-dir',
        dir,
      ]);
      await client.waitFor((l) => l.endsWith(`127.0.0.1:${echoPort} (expose-udp-${echoPort}, udp)`));
      const lines = client.stdout.filter((l) => l.startsWith('Published:'));
      expect(lines).toHaveLength(3);
      const nodeUdp = /^Published: 127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:\d+ \(node-udp, udp\)$/.exec(lines[1]!)!;
      const exposed = /^Published: 127\.0\.0\.1:(\d+) -> /.exec(lines[2]!)!;
      const node = parsePublished(lines[0]!);
      const table = (await (await fetch(`http://${node.publicAddress}/ip_table`)).json()) as {
        ip_address: Array<Record<string, unknown>>;
      };
      expect(table.ip_address[0]!.UDPServerPort).toBe(nodeUdp[1]);
      for (const target of [nodeUdp[1], exposed[1]]) {
        const out = await new Promise<string>((resolve, reject) =>
          execFile(
            process.execPath,
            [path.resolve(import.meta.dirname, '..', 'fixtures', 'udp-visitors.mjs'), '127.0.0.1', target!],
            (err, stdout) => (err ? reject(err) : resolve(stdout)),
          ),
        );
        expect(JSON.parse(out)).toEqual({ ok: 1000, wrong: 0, total: 1000 });
      }
      const rpm = JSON.parse((await runCli(['--view-rpm', '--json', '--config-dir', dir])).stdout) as {
        mappings: Array<{ protocol: string; state: string }>;
      };
      expect(rpm.mappings.map((m) => m.protocol).sort()).toEqual(['tcp', 'udp', 'udp']);
      expect((await runCli(['--view-rpm', '--config-dir', dir])).stdout).toMatch(/udp/);
    } finally {
      await killAll(); // stop the relay before its local UDP target goes away
      echo.close();
    }
  }, 60_000);

  it.each([
    ['secrets.json', { secrets: { token: 'token-T' } }],
    ['config.json, where an older p2prc kept it, and moves it to secrets.json', { config: { token: 'token-T' } }],
  ])('takes the control port from config.json and the token from %s when no flag gives them', async (_, files) => {
    const busy = await occupiedPort();
    busy.close();
    const at = (name: string) => path.join(dir, name);
    await writeFile(at('config.json'), JSON.stringify({ controlPort: busy.port, ...files.config }));
    if (files.secrets) await writeFile(at('secrets.json'), JSON.stringify(files.secrets), { mode: 0o600 });
    const host = startCli([
      '-s',
      '--reverse-proxy',
      '--bind',
      '127.0.0.1',
      '--port',
      '0',
      '--json',
      '--config-dir',
      dir,
    ]);
    const info = JSON.parse(await host.waitFor((l) => l.includes('"host-started"'))) as {
      port: number;
      connectCommand: string;
    };
    expect(info.port).toBe(busy.port);
    expect(info.connectCommand).toContain('--token token-T');
    const config = JSON.parse(await readFile(at('config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ controlPort: busy.port });
    expect(config).not.toHaveProperty('token');
    expect(JSON.parse(await readFile(at('secrets.json'), 'utf8'))).toEqual({ token: 'token-T' });
  });

  it('gives --help with examples for every command', async () => {
    for (const args of [
      ['-s', '--reverse-proxy'],
      ['-s', '--connect-reverse-proxy', 'x'],
      ['--view-rps'],
      ['--view-rpm'],
      ['-s'],
      [],
    ]) {
      const r = await runCli([...args, '--help']);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(/p2prc/);
      if (args.length > 0) expect(r.stdout, args.join(' ')).toMatch(/Examples:/);
    }
  });

  it('produces each documented exit code from a real failure', async () => {
    expect((await runCli(['--view-rps', '--no-such-flag', '--config-dir', dir])).code).toBe(2);
    expect((await runCli(['-s', '--connect-reverse-proxy', 'not a host:xx', '--config-dir', dir])).code).toBe(2);
    const { port, token } = await startHost();
    const wrong = await runCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--token',
      `${token}x`,
      '--config-dir',
      dir,
    ]);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('E_AUTH');
    const busy = await occupiedPort();
    const taken = await runCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--remote-port',
      String(busy.port),
      '--port',
      '0',
      '--config-dir',
      dir,
    ]);
    busy.close();
    expect(taken.code).toBe(4);
    expect(taken.stderr).toContain('E_PORT_TAKEN');
    const closed = await occupiedPort();
    closed.close();
    const unreachable = await runCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${closed.port}`,
      '--token',
      't',
      '--exit-on-login-failure',
      '--config-dir',
      dir,
    ]);
    expect(unreachable.code).toBe(5);
    expect(unreachable.stderr).toContain('E_UNREACHABLE');
    const pin = await runCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--fingerprint',
      'AA'.repeat(32),
      '--config-dir',
      dir,
    ]);
    expect(pin.code).toBe(6);
    expect(pin.stderr).toContain('E_TLS');
  });

  it('reports a corrupt record file with its path and leaves it untouched', async () => {
    const file = path.join(dir, 'reverse_proxy_mapping.json');
    await writeFile(file, '{"version":1,"mappings":[');
    const r = await runCli(['--view-rpm', '--config-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('E_CONFIG');
    expect(r.stderr).toContain(file);
    expect(await readFile(file, 'utf8')).toBe('{"version":1,"mappings":[');
    const repaired = await runCli(['--view-rpm', '--repair', '--json', '--config-dir', dir]);
    expect(repaired.code).toBe(0);
    expect(repaired.stderr).toContain('.corrupt-');
    expect(JSON.parse(repaired.stdout)).toMatchObject({ mappings: [] });
  });
});
