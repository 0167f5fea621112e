import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';
import { killAll, parsePublished, runCli, startCli, type Running } from '../helpers/cli.js';
import { FRP_DIR, FRP_SKIP, frpProcesses } from '../helpers/frp.js';
import { echoExact, echoServer, freePort, httpServer, sha256, until } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir } = useWorkspace();
let dir: string;
const env = { P2PRC_FRP_BIN_DIR: FRP_DIR };

async function startFrpHost(port = 0, extra: string[] = []): Promise<{ host: Running; port: number; token: string }> {
  const host = startCli(
    [
      '-s',
      '--reverse-proxy',
      '--engine',
      'frp',
      '--bind',
      '127.0.0.1',
      '--control-port',
      String(port),
      '--port',
      '0',
      '--json',
      '--config-dir',
      dir,
      ...extra,
    ],
    env,
  );
  const info = JSON.parse(await host.waitFor((l) => l.includes('"host-started"'))) as {
    port: number;
    connectCommand: string;
    engine: string;
  };
  expect(info.engine).toBe('frp');
  return { host, port: info.port, token: /--token (\S+)/.exec(info.connectCommand)![1]! };
}

describe.skipIf(!!FRP_SKIP)(`frp engine with real frp 0.31.2${FRP_SKIP ? ` — skipped: ${FRP_SKIP}` : ''}`, () => {
  beforeEach(() => {
    dir = tempDir('frp-e2e');
  });
  // Runs before the workspace's cleanup: frps and frpc are the CLI's children, and must be gone too.
  afterEach(async () => {
    await killAll();
    await until(() => frpProcesses().length === 0, 10_000, 'frp processes to exit');
  });
  afterAll(() => expect(frpProcesses()).toEqual([]));

  it('host and client both on frp: HTTP, a 16 MiB transfer, records and views', async () => {
    const web = await httpServer();
    const echo = await echoServer();
    const { port } = await startFrpHost();
    const client = startCli(
      [
        '-s',
        '--connect-reverse-proxy',
        `127.0.0.1:${port}`,
        '--engine',
        'frp',
        '--no-tls',
        '--expose',
        String(web),
        '--expose',
        String(echo),
        '--config-dir',
        dir,
      ],
      env,
    );
    await client.waitFor((l) => l.includes(`-> 127.0.0.1:${echo} (`));
    const lines = client.stdout.filter((l) => l.startsWith('Published:')).map(parsePublished);
    const viaWeb = lines.find((l) => l.localPort === web)!;
    const viaEcho = lines.find((l) => l.localPort === echo)!;
    expect(await (await fetch(`http://${viaWeb.publicAddress}/frp`)).text()).toBe('hello /frp');
    const node = lines[0]!;
    const table = (await (await fetch(`http://${node.publicAddress}/ip_table`)).json()) as {
      ip_address: Array<Record<string, unknown>>;
    };
    expect(table.ip_address[0]).toMatchObject({
      NAT: true,
      EscapeImplementation: 'FRP',
      ServerPort: String(node.port),
    });
    const payload = randomBytes(16 * 1024 * 1024);
    // frp closes both directions on a visitor's FIN, so read the echo back before closing
    expect(await echoExact(viaEcho.port, payload)).toBe(sha256(payload));
    const rpm = JSON.parse((await runCli(['--view-rpm', '--json', '--config-dir', dir])).stdout) as {
      mappings: Array<{ engine: string; state: string }>;
    };
    expect(rpm.mappings).toHaveLength(3);
    expect(rpm.mappings.every((m) => m.engine === 'frp' && m.state === 'active')).toBe(true);
    const rps = JSON.parse((await runCli(['--view-rps', '--json', '--config-dir', dir])).stdout) as {
      servers: Array<{ engine: string; state: string; controlPort: number }>;
    };
    expect(rps.servers.find((s) => s.controlPort === port)).toMatchObject({ engine: 'frp', state: 'alive' });
    expect(await client.stop('SIGINT')).toBe(0);
    const after = JSON.parse((await runCli(['--view-rpm', '--json', '--config-dir', dir])).stdout) as {
      mappings: Array<{ state: string }>;
    };
    expect(after.mappings.every((m) => m.state === 'closed')).toBe(true);
  }, 90_000);

  it('maps frp failures to the documented exit codes: wrong token 3, taken port 4, unreachable 5', async () => {
    const { port, token } = await startFrpHost();
    const common = ['--engine', 'frp', '--no-tls', '--exit-on-login-failure', '--config-dir', dir];
    const wrong = await runCli(
      ['-s', '--connect-reverse-proxy', `127.0.0.1:${port}`, '--token', `${token}x`, ...common],
      env,
    );
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('E_AUTH');
    const busy = net.createServer().listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const taken = await runCli(
      [
        '-s',
        '--connect-reverse-proxy',
        `127.0.0.1:${port}`,
        '--token',
        token,
        '--remote-port',
        String((busy.address() as net.AddressInfo).port),
        '--port',
        '0',
        ...common,
      ],
      env,
    );
    busy.close();
    expect(taken.code).toBe(4);
    expect(taken.stderr).toContain('E_PORT_TAKEN');
    const closed = net.createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const closedPort = (closed.address() as net.AddressInfo).port;
    closed.close();
    const unreachable = await runCli(
      ['-s', '--connect-reverse-proxy', `127.0.0.1:${closedPort}`, '--token', token, ...common],
      env,
    );
    expect(unreachable.code).toBe(5);
    expect(unreachable.stderr).toContain('E_UNREACHABLE');
  }, 90_000);

  it('"any" port on a host with --allow-ports: frps picks inside them, and a restarted client gets them back', async () => {
    const echo = await echoServer();
    const low = Math.min(await freePort(), 65_000);
    const { port, token } = await startFrpHost(0, ['--allow-ports', `${low}-${low + 19}`]);
    const clientDir = tempDir('frp-any-client');
    const connect = () =>
      startCli(
        [
          '-s',
          '--connect-reverse-proxy',
          `127.0.0.1:${port}`,
          '--engine',
          'frp',
          '--no-tls',
          '--token',
          token,
          '--expose',
          String(echo),
          '--config-dir',
          clientDir,
        ],
        env,
      );
    const published = async (c: Running) => {
      await c.waitFor((l) => l.includes(`-> 127.0.0.1:${echo} (`));
      return c.stdout.filter((l) => l.startsWith('Published:')).map(parsePublished);
    };
    const first = connect();
    const lines = await published(first);
    expect(lines).toHaveLength(2); // the node server and the exposed port
    for (const l of lines) {
      expect(l.port).toBeGreaterThanOrEqual(low);
      expect(l.port).toBeLessThanOrEqual(low + 19);
    }
    const viaEcho = lines.find((l) => l.localPort === echo)!;
    const payload = randomBytes(64 * 1024);
    expect(await echoExact(viaEcho.port, payload)).toBe(sha256(payload));
    const rpm = JSON.parse((await runCli(['--view-rpm', '--json', '--config-dir', clientDir])).stdout) as {
      mappings: Array<{ publicPort: number; state: string }>;
    };
    expect(rpm.mappings.map((m) => m.publicPort).sort()).toEqual(lines.map((l) => l.port).sort());
    expect(await first.stop('SIGINT')).toBe(0);
    const again = await published(connect());
    expect(again.map((l) => l.port)).toEqual(lines.map((l) => l.port));
  }, 90_000);

  it('frpc reconnects to a restarted frps and keeps the same public port; SIGKILL leaves no frp behind', async () => {
    const echo = await echoServer();
    const first = await startFrpHost();
    const client = startCli(
      [
        '-s',
        '--connect-reverse-proxy',
        `127.0.0.1:${first.port}`,
        '--engine',
        'frp',
        '--no-tls',
        '--expose',
        String(echo),
        '--config-dir',
        dir,
      ],
      env,
    );
    const pub = parsePublished(await client.waitFor((l) => l.includes(`-> 127.0.0.1:${echo} (`)));
    first.host.child.kill('SIGKILL'); // p2prc dies hard: its frps must go with it
    await first.host.exited;
    await until(() => frpProcesses().length === 1, 10_000, 'the orphaned frps to be gone'); // only the client's frpc remains
    const second = await startFrpHost(first.port);
    await until(
      async () => {
        const msg = Buffer.from('back');
        return (await echoExact(pub.port, msg, 2_000).catch(() => '')) === sha256(msg);
      },
      60_000,
      'frpc to reconnect',
    );
    client.child.kill('SIGKILL');
    await client.exited;
    await second.host.stop('SIGTERM');
    await until(() => frpProcesses().length === 0, 10_000, 'no frp processes');
  }, 120_000);
});
