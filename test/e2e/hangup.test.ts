import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { runCli, startCli } from '../helpers/cli.js';
import { httpServer } from '../helpers/engine.js';
import { startCliHost } from '../helpers/newuser.js';
import { useWorkspace } from '../helpers/workspace.js';

// Closing the terminal sends SIGHUP: a client that logs there stops as cleanly as on SIGTERM (exit 0,
// its records closed, none left stale); with --log-file SIGHUP reopens the log and the client runs on.
const { tempDir } = useWorkspace();

async function client(port: number, token: string, dir: string, extra: string[] = []) {
  const web = await httpServer();
  const c = startCli([
    '-s',
    '--connect-reverse-proxy',
    `127.0.0.1:${port}`,
    '--no-tls',
    '--token',
    token,
    '--expose',
    `web=${web}`,
    '--config-dir',
    dir,
    ...extra,
  ]);
  await c.waitFor((l) => l.startsWith('Published:') && l.endsWith('(web)'));
  return c;
}

const states = async (dir: string) =>
  (
    JSON.parse((await runCli(['--view-rpm', '--json', '--config-dir', dir])).stdout) as {
      mappings: Array<{ name: string; state: string }>;
    }
  ).mappings;

describe('SIGHUP', () => {
  it('without --log-file: a clean stop, exit 0, no stale rows', async () => {
    const { port, token } = await startCliHost(tempDir('hup-host'), ['--no-tls']);
    const dir = tempDir('hup-client');
    const c = await client(port, token, dir);
    expect((await states(dir)).map((m) => m.state)).toEqual(['active', 'active']);
    c.child.kill('SIGHUP');
    expect(await c.exited).toBe(0);
    expect(c.stderr.join('\n')).toContain('received SIGHUP, closing tunnels');
    const after = await states(dir);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((m) => m.state === 'stale')).toEqual([]);
  });

  it('with --log-file: the log is reopened and the client keeps running', async () => {
    const { port, token } = await startCliHost(tempDir('hup-host-log'), ['--no-tls']);
    const dir = tempDir('hup-client-log');
    const log = path.join(dir, 'client.log');
    const c = await client(port, token, dir, ['--log-file', log]);
    // As logrotate does: move the file, then SIGHUP; the client opens a new one at the same path.
    await rename(log, `${log}.1`);
    c.child.kill('SIGHUP');
    const deadline = Date.now() + 10_000;
    while (!existsSync(log) && c.child.exitCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(log)).toBe(true);
    expect(c.child.exitCode).toBeNull();
    expect((await states(dir)).map((m) => m.state)).toEqual(['active', 'active']);
    expect(await c.stop('SIGTERM')).toBe(0);
  });
});
