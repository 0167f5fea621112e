import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';
import { echoServer, httpServer, udpEchoServer } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir } = useWorkspace();

interface Status {
  hosts: Array<{ address: string; controlPort: number }>;
  tunnels: Array<{
    name: string;
    type: string;
    local: string;
    public: string;
    host: string;
    state: string;
    reachable: boolean;
  }>;
}

describe('a client config file (-s -c p2prc.toml) and p2prc status', () => {
  it('runs 10 named tunnels of every kind from one file; status probes them, and sees them go', async () => {
    const dir = tempDir('config');
    const host = startCli([
      '-s',
      '--reverse-proxy',
      '--bind',
      '127.0.0.1',
      '--control-port',
      '0',
      '--port',
      '0',
      '--vhost-http-port',
      '0',
      '--token',
      'tok',
      '--json',
      '--config-dir',
      tempDir('config-host'),
    ]);
    const { port } = JSON.parse(await host.waitFor((l) => l.includes('"host-started"'))) as { port: number };
    const [tcp1, tcp2, tcp3, web, udp1, udp2] = await Promise.all([
      echoServer(),
      echoServer(),
      echoServer(),
      httpServer(),
      udpEchoServer(),
      udpEchoServer(),
    ]);
    const tunnels = [
      { name: 'ssh', type: 'tcp', localPort: tcp1 },
      { name: 'db', type: 'tcp', localPort: tcp2 },
      { name: 'redis.cache', type: 'tcp', localPort: tcp3 },
      { name: 'dns', type: 'udp', localPort: udp1 },
      { name: 'game_1', type: 'udp', localPort: udp2 },
      { name: 'app', type: 'http', localPort: web, domain: 'app.example.test' },
      // One local port under two domains: two tunnels, told apart by name.
      { name: 'www', type: 'http', localPort: web, domain: 'www.other.test' },
      { name: 'api', type: 'http', localPort: web, domain: 'api.example.test' },
      { name: 'private-db', type: 'service', localPort: tcp2, id: 'cfg-db' },
      { name: 'private-web', type: 'service', localPort: web, id: 'cfg-web' },
    ];
    const file = path.join(dir, 'p2prc.toml');
    writeFileSync(
      file,
      [
        `host = "127.0.0.1:${port}"`,
        'token = "tok"',
        'tls = true',
        ...tunnels.flatMap((t) => [
          '',
          '[[tunnels]]',
          ...Object.entries(t).map(([k, v]) => `${k} = ${typeof v === 'number' ? v : `"${v}"`}`),
        ]),
      ].join('\n'),
    );
    const client = startCli(['-s', '-c', file, '--config-dir', dir]);
    await client.waitFor((l) => l.includes('(private-web, service)'));
    const published = () => client.stdout.filter((l) => l.startsWith('Published:'));
    await client.waitFor(() => published().length >= 11); // the node server's tunnel, and the 10 named ones
    for (const t of tunnels) expect(published().some((l) => l.includes(`(${t.name}`))).toBe(true);
    expect(published().find((l) => l.includes('(app)'))).toMatch(/^Published: http:\/\/app\.example\.test:\d+ -> /);
    expect(published().find((l) => l.includes('(dns, udp)'))).toBeDefined();
    expect(published().find((l) => l.includes('(private-db, service)'))).toBe(
      `Published: service:cfg-db@127.0.0.1:${port} -> 127.0.0.1:${tcp2} (private-db, service)`,
    );
    // Generated once, printed once (right after its Published line, which may come in an earlier read), kept for the next run.
    const secrets = () => client.stdout.filter((l) => l.startsWith('Secret for '));
    await client.waitFor(() => secrets().length >= 2);
    expect(secrets()).toHaveLength(2);

    const up = await runCli(['status', '--json', '--config-dir', dir]);
    expect(up.code).toBe(0);
    const status = JSON.parse(up.stdout) as Status;
    expect(Object.keys(status)).toEqual(['hosts', 'tunnels']);
    expect(status.hosts).toEqual([expect.objectContaining({ address: '127.0.0.1', controlPort: port })]);
    const named = status.tunnels.filter((t) => t.name !== 'node');
    expect(named.map((t) => t.name).sort()).toEqual(tunnels.map((t) => t.name).sort());
    for (const t of status.tunnels) {
      expect(Object.keys(t)).toEqual(['name', 'type', 'local', 'public', 'host', 'state', 'reachable']);
      expect(t).toMatchObject({ state: 'active', reachable: true, host: `127.0.0.1:${port}` });
    }
    expect(named.find((t) => t.name === 'db')).toMatchObject({ type: 'tcp', local: `127.0.0.1:${tcp2}` });
    expect(named.find((t) => t.name === 'private-db')).toMatchObject({ type: 'service', public: 'service:cfg-db' });
    expect(named.find((t) => t.name === 'www')!.public).toMatch(/^www\.other\.test:\d+$/);
    const table = await runCli(['status', '--config-dir', dir]);
    expect(table.stdout).toMatch(/NAME\s+TYPE\s+LOCAL\s+PUBLIC\s+HOST\s+STATE\s+REACHABLE/);
    expect(table.stdout).toMatch(/redis\.cache\s+tcp\s+.*active\s+yes/);

    await client.stop('SIGKILL');
    const down = JSON.parse((await runCli(['status', '--json', '--config-dir', dir])).stdout) as Status;
    expect(down.tunnels).toHaveLength(status.tunnels.length);
    for (const t of down.tunnels) expect(t).toMatchObject({ state: 'stale', reachable: false });

    // The next run keeps the services' secrets: none is printed again.
    const again = startCli(['-s', '--config', file, '--config-dir', dir]);
    await again.waitFor((l) => l.includes('(private-web, service)'));
    expect(again.stdout.some((l) => l.startsWith('Secret for '))).toBe(false);
  }, 90_000);

  it('a bad file is E_CONFIG naming the file, the line and the key, exit 2', async () => {
    const dir = tempDir('config-bad');
    const cases: Array<[string, string, RegExp]> = [
      ['syntax.toml', 'host = "127.0.0.1:7000"\n[[tunnels]]\nname = \n', /syntax\.toml:3:\d+: name: /],
      ['unknown.toml', 'host = "127.0.0.1:7000"\nhots = "x"\n', /unknown\.toml:2: hots: unknown key/],
      [
        'unknown-in-tunnel.toml',
        'host = "127.0.0.1:7000"\n\n[[tunnels]]\nname = "a"\ntype = "tcp"\nlocalPort = 1\n\n[[tunnels]]\nname = "b"\ntype = "tcp"\nlocal_port = 2\n',
        /unknown-in-tunnel\.toml:11: tunnels\[1\]\.local_port: unknown key/,
      ],
      [
        'type.toml',
        'host = "127.0.0.1:7000"\n[[tunnels]]\nname = "web"\ntype = "ftp"\nlocalPort = 3000\n',
        /type\.toml:4: tunnels\[0\]\.type: "ftp": one of tcp, udp, http, https, service/,
      ],
      [
        'dup.toml',
        '[[tunnels]]\nname = "a"\ntype = "tcp"\nlocalPort = 1\n[[tunnels]]\nname = "a"\ntype = "udp"\nlocalPort = 2\n',
        /dup\.toml:6: tunnels\[1\]\.name: "a" is used by an earlier tunnel/,
      ],
    ];
    for (const [name, text, message] of cases) {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      const r = await runCli(['-s', '-c', file, '--config-dir', dir]);
      expect(r.stderr).toMatch(/^p2prc: error E_CONFIG: /);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
    }
    const missing = await runCli(['-s', '--config', path.join(dir, 'nope.toml'), '--config-dir', dir]);
    expect(missing.stderr).toContain('E_CONFIG');
    expect(missing.code).toBe(2);
    expect((await runCli(['status', '--help'])).stdout).toMatch(/Examples:[\s\S]*p2prc status --json/);
  }, 60_000);
});
