import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/newuser.js';
import { useWorkspace } from '../helpers/workspace.js';

// A flag that takes one value, given twice: a usage error naming it, before anything starts.
const { tempDir } = useWorkspace();

describe('a single-valued flag given twice', () => {
  const connect = ['-s', '--connect-reverse-proxy', '127.0.0.1:1', '--exit-on-login-failure'];
  const cases: Array<[string, string[], string]> = [
    ['--bind', [...connect, '--bind', '127.0.0.1', '--bind', '::1'], '--bind'],
    ['--token', [...connect, '--token', 'a', '--token', 'b'], '--token'],
    [
      '--connect-reverse-proxy',
      ['-s', '--connect-reverse-proxy', '127.0.0.1:1', '--connect-reverse-proxy', '127.0.0.1:2'],
      '--connect-reverse-proxy',
    ],
    ['--control-port', ['-s', '--reverse-proxy', '--control-port', '0', '--control-port', '0'], '--control-port'],
    ['--token=, with =', [...connect, '--token=a', '--token=b'], '--token'],
    ['--tls twice', [...connect, '--tls', '--tls'], '--tls'],
  ];
  for (const [name, args, flag] of cases) {
    it(`${name}: E_USAGE naming ${flag}, exit 2`, async () => {
      const r = await runCli([...args, '--config-dir', tempDir('repeat')]);
      expect(r.stderr).toContain(`p2prc: error E_USAGE: ${flag} is given more than once`);
      expect(r.stderr).not.toContain('E_INTERNAL');
      expect(r.code).toBe(2);
    });
  }

  it('an array flag may be repeated: --expose twice is parsed, then the host is unreachable (exit 5)', async () => {
    const closed = await freePort();
    const r = await runCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${closed}`,
      '--token',
      't',
      '--exit-on-login-failure',
      '--expose',
      '3000',
      '--expose',
      '3001',
      '--config-dir',
      tempDir('repeat'),
    ]);
    expect(r.stderr).not.toContain('E_USAGE');
    expect(r.code).toBe(5);
  });
});
