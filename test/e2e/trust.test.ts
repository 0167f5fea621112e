import { describe, expect, it } from 'vitest';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { runCli, startCli } from '../helpers/cli.js';
import { freePort } from '../helpers/newuser.js';
import { useWorkspace } from '../helpers/workspace.js';

// Trust on first use said out loud, the token remembered per host (secrets.json), a --expose port with nothing behind it.
const { tempDir } = useWorkspace();
const TOKEN = 'trust-test-token';

async function host(port: number) {
  const h = startCli([
    '-s',
    '--reverse-proxy',
    '--bind',
    '127.0.0.1',
    '--control-port',
    String(port),
    '--port',
    '0',
    '--token',
    TOKEN,
    '--json',
    '--config-dir',
    tempDir('host'),
  ]);
  return {
    h,
    fingerprint: (JSON.parse(await h.waitFor((l) => l.includes('"host-started"'))) as { fingerprint: string })
      .fingerprint,
  };
}

describe('what a client keeps about a host', () => {
  it('says it pinned the certificate, stores the token (0600), warns about an empty --expose port; the next run needs only the address', async () => {
    const port = await freePort();
    const { fingerprint } = await host(port);
    const clientDir = tempDir('client');
    const empty = await freePort();
    const first = startCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--token',
      TOKEN,
      '--expose',
      String(empty),
      '--config-dir',
      clientDir,
    ]);
    await first.waitFor((l) => l.startsWith('Published:') && l.endsWith(`(expose-${empty})`));
    await first.waitFor((l) => l.includes(`nothing listens on 127.0.0.1:${empty} (expose-${empty})`), 10_000, 'stderr');
    // Log lines carry a timestamp and level before the message.
    expect(first.stderr.some((l) => l.endsWith(` pinned ${fingerprint} for 127.0.0.1:${port}`))).toBe(true);
    const secrets = path.join(clientDir, 'secrets.json');
    expect(first.stderr.some((l) => l.includes(`token for 127.0.0.1:${port} stored in ${secrets}`))).toBe(true);
    expect(first.stderr.join('\n')).not.toContain(TOKEN);
    // The token and the pin are in secrets.json (0600); config.json (0600 too) holds neither.
    expect((await stat(secrets)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(secrets, 'utf8'))).toEqual({
      fingerprints: { [`127.0.0.1:${port}`]: fingerprint },
      hostTokens: { [`127.0.0.1:${port}`]: TOKEN },
    });
    expect((await stat(path.join(clientDir, 'config.json'))).mode & 0o777).toBe(0o600);
    const config = await readFile(path.join(clientDir, 'config.json'), 'utf8');
    expect(config).not.toContain(TOKEN);
    expect(Object.keys(JSON.parse(config) as object).sort()).toEqual(['IPTable', 'ServerPort']);
    expect(await first.stop('SIGINT')).toBe(0);

    const again = startCli(['-s', '--connect-reverse-proxy', `127.0.0.1:${port}`, '--config-dir', clientDir]);
    await again.waitFor((l) => l.startsWith('Published:'));
    expect(again.stderr.some((l) => / pinned /.test(l))).toBe(false);
  });

  it('after a certificate change E_TLS says how to re-pin, and --fingerprint NEW updates the stored pin', async () => {
    const port = await freePort();
    const old = await host(port);
    const clientDir = tempDir('client');
    const first = startCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--token',
      TOKEN,
      '--config-dir',
      clientDir,
    ]);
    await first.waitFor((l) => l.startsWith('Published:'));
    await first.stop('SIGINT');
    await old.h.stop('SIGINT');
    const renewed = await host(port);
    const refused = await runCli(['-s', '--connect-reverse-proxy', `127.0.0.1:${port}`, '--config-dir', clientDir]);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toContain(`re-pin it: --fingerprint ${renewed.fingerprint}`);
    const repinned = startCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--fingerprint',
      renewed.fingerprint,
      '--config-dir',
      clientDir,
    ]);
    await repinned.waitFor((l) => l.startsWith('Published:'));
    expect(
      repinned.stderr.some((l) =>
        l.endsWith(` re-pinned ${renewed.fingerprint} for 127.0.0.1:${port} (was ${old.fingerprint})`),
      ),
    ).toBe(true);
    await repinned.stop('SIGINT');
    const later = startCli(['-s', '--connect-reverse-proxy', `127.0.0.1:${port}`, '--config-dir', clientDir]);
    await later.waitFor((l) => l.startsWith('Published:'));
  });
});
