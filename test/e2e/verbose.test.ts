import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';
import { freePort } from '../helpers/newuser.js';
import { useWorkspace } from '../helpers/workspace.js';
import { causeLines, P2prcError } from '../../src/errors.js';

// --verbose shows what the OS said on connection failures.
const { tempDir } = useWorkspace();

const OS_LINE =
  /caused by: Error: connect ECONNREFUSED 127\.0\.0\.1:(\d+) \[ECONNREFUSED, errno -?\d+, syscall connect, address 127\.0\.0\.1:\1\]/;

describe('--verbose on connection failures', () => {
  it('prints the errno cause under each retry line, and only with --verbose', async () => {
    const dir = tempDir('verbose');
    const port = await freePort();
    const args = ['-s', '--connect-reverse-proxy', `127.0.0.1:${port}`, '--token', 't', '--config-dir', dir];
    const verbose = startCli([...args, '--verbose']);
    const retry = await verbose.waitFor((l) => l.includes('retrying in'), 20_000, 'stderr');
    const cause = await verbose.waitFor((l) => OS_LINE.test(l), 20_000, 'stderr');
    expect(cause).toContain(`127.0.0.1:${port}`);
    expect(verbose.stderr.indexOf(cause)).toBeGreaterThan(verbose.stderr.indexOf(retry));
    expect(await verbose.stop('SIGINT')).toBe(0);

    const quiet = startCli(args);
    await quiet.waitFor((l) => l.includes('(attempt 2)'), 20_000, 'stderr');
    expect(await quiet.stop('SIGINT')).toBe(0);
    expect(quiet.stderr.join('\n')).not.toContain('caused by');
  });

  it('prints the errno cause under the final error with --exit-on-login-failure', async () => {
    const dir = tempDir('verbose-exit');
    const port = await freePort();
    const r = await runCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--token',
      't',
      '--exit-on-login-failure',
      '--verbose',
      '--config-dir',
      dir,
    ]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`p2prc: error E_UNREACHABLE: 127.0.0.1:${port} is unreachable`);
    expect(r.stderr).toMatch(OS_LINE);
  });
});

describe('causeLines', () => {
  it('walks the chain with errno facts, the attempts of an AggregateError, and stops on a loop', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED ::1:9'), {
      code: 'ECONNREFUSED',
      errno: -111,
      syscall: 'connect',
      address: '::1',
      port: 9,
    });
    const top = new P2prcError('E_UNREACHABLE', 'unreachable', {
      cause: new AggregateError([refused, new Error('second')], 'all failed'),
    });
    expect(causeLines(top)).toEqual([
      '  caused by: AggregateError: all failed',
      '    caused by: Error: connect ECONNREFUSED ::1:9 [ECONNREFUSED, errno -111, syscall connect, address ::1:9]',
      '    caused by: Error: second',
    ]);
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(causeLines(new P2prcError('E_INTERNAL', 'x', { cause: a }), 5)).toHaveLength(5);
    expect(causeLines(new Error('no cause'))).toEqual([]);
  });
});
