import { describe, expect, it } from 'vitest';
import { runCli, startCli, type Running } from '../helpers/cli.js';
import { freePort } from '../helpers/newuser.js';
import { useWorkspace } from '../helpers/workspace.js';

// --view-rpm while the host is down and the client retries: "reconnecting".
const { tempDir } = useWorkspace();

interface Row {
  name: string;
  state: string;
  reconnectingSince?: string;
}

/** The mapping rows as --view-rpm --json shows them. */
async function rows(dir: string): Promise<Row[]> {
  const r = await runCli(['--view-rpm', '--json', '--config-dir', dir]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { mappings: Row[] }).mappings;
}

/**
 * Runs --view-rpm until every row is in `state`. The client writes the record just after it prints
 * its status line, so a few reads may come before the write; bounded by `tries` runs of the CLI.
 */
async function untilState(dir: string, state: string, tries = 40): Promise<Row[]> {
  let last: Row[] = [];
  for (let i = 0; i < tries; i++) {
    last = await rows(dir);
    if (last.length > 0 && last.every((m) => m.state === state)) return last;
  }
  throw new Error(`mappings never all ${state}: ${JSON.stringify(last)}`);
}

const startHost = (dir: string, port: number): Running =>
  startCli([
    '-s',
    '--reverse-proxy',
    '--bind',
    '127.0.0.1',
    '--control-port',
    String(port),
    '--port',
    '0',
    '--no-tls',
    '--token',
    'reconnect-token',
    '--json',
    '--config-dir',
    dir,
  ]);

describe('--view-rpm while the host is down', () => {
  it('shows reconnecting (since when) after the host is killed, and active again once it is back', async () => {
    const hostDir = tempDir('rc-host');
    const dir = tempDir('rc-client');
    const port = await freePort();
    let host = startHost(hostDir, port);
    await host.waitFor((l) => l.includes('"host-started"'));
    const client = startCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--no-tls',
      '--token',
      'reconnect-token',
      '--config-dir',
      dir,
    ]);
    await client.waitFor((l) => l.startsWith('Published:'));
    expect((await rows(dir)).map((m) => m.state)).toEqual(['active']);

    const killedAt = Date.now();
    await host.stop('SIGKILL');
    await client.waitFor((l) => l.includes('retrying in'), 20_000, 'stderr');
    const lost = await untilState(dir, 'reconnecting');
    expect(Date.parse(lost[0]!.reconnectingSince!)).toBeGreaterThanOrEqual(killedAt - 1_000);
    const table = await runCli(['--view-rpm', '--config-dir', dir]);
    expect(table.stdout).toMatch(/reconnecting since \d\d:\d\d:\d\dZ \(\d+s ago\)/);

    host = startHost(hostDir, port);
    await client.waitFor((l) => l.includes('reconnected; tunnels restored'), 30_000, 'stderr');
    const back = await untilState(dir, 'active');
    expect(back[0]!.reconnectingSince).toBeUndefined();
    expect(await client.stop('SIGINT')).toBe(0);
    expect((await rows(dir)).map((m) => m.state)).toEqual(['closed']);
  });
});
