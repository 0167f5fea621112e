import { describe, expect, it } from 'vitest';
import { startCli, type Running } from '../helpers/cli.js';
import { freePort } from '../helpers/newuser.js';
import { useWorkspace } from '../helpers/workspace.js';

// A client's log lines: a warning says "warn:" once, and getting the host back is news, not a warning.
const { tempDir } = useWorkspace();

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
    'log-token',
    '--json',
    '--config-dir',
    dir,
  ]);

describe('client log levels', () => {
  it('"warn: nothing listens ..." without a doubled word; "info: status: reconnected; tunnels restored"', async () => {
    const hostDir = tempDir('log-host');
    const port = await freePort();
    const nobody = await freePort();
    let host = startHost(hostDir, port);
    await host.waitFor((l) => l.includes('"host-started"'));
    const client = startCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--no-tls',
      '--token',
      'log-token',
      '--expose',
      String(nobody),
      '--config-dir',
      tempDir('log-client'),
    ]);
    const warning = await client.waitFor((l) => l.includes(`nothing listens on 127.0.0.1:${nobody}`), 20_000, 'stderr');
    expect(warning).toMatch(new RegExp(`^\\[[^\\]]+\\] warn: nothing listens on 127\\.0\\.0\\.1:${nobody} `));
    await host.stop('SIGKILL');
    await client.waitFor((l) => l.includes('retrying in'), 20_000, 'stderr');
    host = startHost(hostDir, port);
    const back = await client.waitFor((l) => l.includes('reconnected; tunnels restored'), 30_000, 'stderr');
    expect(back).toMatch(/^\[[^\]]+\] info: status: reconnected; tunnels restored$/);
    expect(client.stderr.join('\n')).not.toContain('warn: warning:');
  });
});
