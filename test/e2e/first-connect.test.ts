import { describe, expect, it } from 'vitest';
import { startCli } from '../helpers/cli.js';
import { freePort } from '../helpers/newuser.js';
import { useWorkspace } from '../helpers/workspace.js';

// The first connection: a signal while it is still being tried, and auto with a bootstrap node on a fresh dir.
const { tempDir } = useWorkspace();
const TOKEN = 'first-connect-token';
const FAST = ['--exchange-interval', '0.3', '--stale-after', '30'];

describe('first connection', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} while the host is still unreachable exits 0 with a message`, async () => {
      const closed = await freePort();
      const client = startCli([
        '-s',
        '--connect-reverse-proxy',
        `127.0.0.1:${closed}`,
        '--token',
        't',
        '--config-dir',
        tempDir('sig'),
      ]);
      await client.waitFor((l) => l.includes('retrying in'), 20_000, 'stderr');
      expect(await client.stop(signal)).toBe(0);
      expect(client.stderr.join('\n')).toContain(`received ${signal}, stopped before the first connection`);
    });
  }

  it('auto with --bootstrap on a fresh dir asks the bootstrap node, and keeps asking until a host is usable', async () => {
    // The bootstrap node is the host's own node server, started only after the client began asking it.
    const nodePort = await freePort();
    // A fresh node with only the token: no pin, no --trust. The token check is a PAKE, so trying it
    // on a host learned from a peer gives that host nothing to test offline.
    const hostArgs = [
      '-s',
      '--reverse-proxy',
      '--bind',
      '127.0.0.1',
      '--control-port',
      '0',
      '--port',
      String(nodePort),
      '--token',
      TOKEN,
      '--json',
      '--config-dir',
      tempDir('host'),
    ];
    const client = startCli([
      '-s',
      '--connect-reverse-proxy',
      'auto',
      '--bootstrap',
      `127.0.0.1:${nodePort}`,
      '--token',
      TOKEN,
      '--config-dir',
      tempDir('client'),
      ...FAST,
    ]);
    await client.waitFor((l) => l.includes('no usable reverse proxy') && l.includes('asking again'), 20_000, 'stderr');
    expect(client.child.exitCode).toBe(null);
    startCli(hostArgs);
    await client.waitFor((l) => l.startsWith('Published:'), 60_000);
    expect(client.stderr.some((l) => l.includes('chose reverse proxy'))).toBe(true);
  }, 90_000);
});
