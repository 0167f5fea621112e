import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { useWorkspace } from '../helpers/workspace.js';

// A numeric flag with a value that is no number, negative, or not a port: a usage error naming the flag
// and the text as typed, never the library's option name in milliseconds.
const { tempDir } = useWorkspace();

describe('numeric flags', () => {
  const host = ['-s', '--reverse-proxy', '--bind', '127.0.0.1'];
  const cases: Array<[string[], RegExp]> = [
    [[...host, '--heartbeat', '-1'], /--heartbeat needs a number of 0 or more, got "-1"/],
    [[...host, '--control-port', 'abc'], /--control-port needs a port number \(0-65535\), got "abc"/],
    [[...host, '--control-port=70000'], /--control-port needs a port number \(0-65535\), got "70000"/],
    [['-s', '--connect-reverse-proxy', '127.0.0.1:1', '--heartbeat', 'soon'], /--heartbeat needs a number/],
  ];
  for (const [args, message] of cases) {
    it(`${args.slice(-2).join(' ')}: E_USAGE naming the flag, exit 2`, async () => {
      const r = await runCli([...args, '--config-dir', tempDir('numbers')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/heartbeatMs|controlPort|NaN/);
    });
  }
});

describe('an empty --token', () => {
  it('is E_USAGE, not a fall back to the stored token', async () => {
    const r = await runCli([
      '-s',
      '--connect-reverse-proxy',
      '127.0.0.1:1',
      '--token',
      '',
      '--exit-on-login-failure',
      '--config-dir',
      tempDir('empty-token'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--token is empty/);
  });
});
