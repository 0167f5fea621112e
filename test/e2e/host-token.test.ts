import { describe, expect, it } from 'vitest';
import { startCli } from '../helpers/cli.js';
import { startCliHost } from '../helpers/newuser.js';
import { useWorkspace } from '../helpers/workspace.js';

// A short token (frp users bring ones such as 123456) is accepted, with a warning that says how to make
// a strong one; a generated or long token starts without one.
const { tempDir } = useWorkspace();

describe('the host token', () => {
  it('under 16 characters: warned about at start, with how to make a strong one, and still accepted', async () => {
    const { host, port, token } = await startCliHost(tempDir('weak-host'), ['--no-tls', '--token', '123456']);
    expect(token).toBe('123456');
    const warning = await host.waitFor((l) => l.includes('characters long'), 10_000, 'stderr');
    expect(warning).toMatch(/warn: the token is only 6 characters long: .*openssl rand -hex 16/);
    const client = startCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--no-tls',
      '--token',
      '123456',
      '--exit-on-login-failure',
      '--config-dir',
      tempDir('weak-client'),
    ]);
    await client.waitFor((l) => l.startsWith('Published:'));
  });

  it('generated, or 16 characters and more: no warning', async () => {
    const generated = await startCliHost(tempDir('generated-host'));
    const long = await startCliHost(tempDir('long-host'), ['--token', '0123456789abcdef']);
    await Promise.all([generated.host.stop(), long.host.stop()]);
    for (const { host } of [generated, long]) expect(host.stderr.join('\n')).not.toContain('characters long');
  });
});
