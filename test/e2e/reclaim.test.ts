import { describe, expect, it } from 'vitest';
import { parsePublished, runCli, startCli } from '../helpers/cli.js';
import { freePort, startCliHost } from '../helpers/newuser.js';
import { useWorkspace } from '../helpers/workspace.js';

// A client's ports after a crash or a refused login.
const { tempDir } = useWorkspace();

describe('reservations and client identity', () => {
  it('a client killed with -9 gets its fixed port back at once; another client is told how long it is held', async () => {
    const { host, port, token } = await startCliHost(tempDir('host'), ['--grace', '60']);
    const clientDir = tempDir('client');
    const fixed = await freePort();
    const args = [
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--token',
      token,
      '--remote-port',
      String(fixed),
      '--config-dir',
      clientDir,
      '--exit-on-login-failure',
    ];
    const first = startCli(args);
    expect(parsePublished(await first.waitFor((l) => l.startsWith('Published:'))).port).toBe(fixed);
    await first.stop('SIGKILL');
    await host.waitFor((l) => l.includes('held for 60 s'), 20_000, 'stderr');

    const other = await runCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--token',
      token,
      '--remote-port',
      String(fixed),
      '--config-dir',
      tempDir('other'),
      '--exit-on-login-failure',
    ]);
    expect(other.code).toBe(4);
    expect(other.stderr).toMatch(/reserved for a disconnected client for another \d+ s/);

    const again = startCli(args);
    expect(parsePublished(await again.waitFor((l) => l.startsWith('Published:'))).port).toBe(fixed);
    expect(await again.stop('SIGINT')).toBe(0);
  });

  it('a client killed with -9 and restarted gets its "any" ports back at once, node and expose alike', async () => {
    const { host, port, token } = await startCliHost(tempDir('host'), ['--grace', '60']);
    const clientDir = tempDir('client');
    const local = await freePort();
    const args = [
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--token',
      token,
      '--expose',
      String(local),
      '--config-dir',
      clientDir,
      '--exit-on-login-failure',
    ];
    const publicPorts = async (c: ReturnType<typeof startCli>) => {
      const lines = [
        await c.waitFor((l) => l.startsWith('Published:') && l.endsWith('(node)')),
        await c.waitFor((l) => l.startsWith('Published:') && l.includes(`(expose-${local})`)),
      ];
      return lines.map((l) => parsePublished(l).port);
    };
    const first = startCli(args);
    const before = await publicPorts(first);
    await first.stop('SIGKILL');
    await host.waitFor((l) => l.includes('held for 60 s'), 20_000, 'stderr');
    const again = startCli(args);
    expect(await publicPorts(again)).toEqual(before);
    expect(await again.stop('SIGINT')).toBe(0);
  });

  it('a refused login leaves no port reserved', async () => {
    const { host, port, token } = await startCliHost(tempDir('host'), ['--grace', '60']);
    const holder = startCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--token',
      token,
      '--config-dir',
      tempDir('holder'),
    ]);
    const taken = parsePublished(await holder.waitFor((l) => l.startsWith('Published:'))).port;
    const nodePort = await freePort();
    const refused = await runCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--token',
      token,
      '--remote-port',
      String(nodePort),
      '--expose',
      `${nodePort}:${taken}`,
      '--config-dir',
      tempDir('refused'),
      '--exit-on-login-failure',
    ]);
    expect(refused.code).toBe(4);
    // the host says why it refused
    await host.waitFor((l) => l.includes('refused: E_PORT_TAKEN'), 10_000, 'stderr');
    const next = startCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--token',
      token,
      '--remote-port',
      String(nodePort),
      '--config-dir',
      tempDir('next'),
      '--exit-on-login-failure',
    ]);
    expect(parsePublished(await next.waitFor((l) => l.startsWith('Published:'))).port).toBe(nodePort);
  });
});
