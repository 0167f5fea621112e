import { afterEach, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { killAll, parsePublished, runCli, startCli } from '../helpers/cli.js';
import { freePort, startCliHost, tempDir } from '../helpers/newuser.js';

// A client's ports after a crash or a refused login.
const dirs: string[] = [];
const dir = async (label: string) => (dirs.push(await tempDir(label)), dirs.at(-1)!);
afterEach(async () => {
  await killAll();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('reservations and client identity', () => {
  it('a client killed with -9 gets its fixed port back at once; another client is told how long it is held', async () => {
    const { host, port, token } = await startCliHost(await dir('host'), ['--grace', '60']);
    const clientDir = await dir('client');
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
      await dir('other'),
      '--exit-on-login-failure',
    ]);
    expect(other.code).toBe(4);
    expect(other.stderr).toMatch(/reserved for a disconnected client for another \d+ s/);

    const again = startCli(args);
    expect(parsePublished(await again.waitFor((l) => l.startsWith('Published:'))).port).toBe(fixed);
    expect(await again.stop('SIGINT')).toBe(0);
  });

  it('a refused login leaves no port reserved', async () => {
    const { host, port, token } = await startCliHost(await dir('host'), ['--grace', '60']);
    const holder = startCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--token',
      token,
      '--config-dir',
      await dir('holder'),
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
      await dir('refused'),
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
      await dir('next'),
      '--exit-on-login-failure',
    ]);
    expect(parsePublished(await next.waitFor((l) => l.startsWith('Published:'))).port).toBe(nodePort);
  });
});
