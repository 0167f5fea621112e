import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startCliHost } from '../helpers/newuser.js';
import { useWorkspace } from '../helpers/workspace.js';

// A --fingerprint typed for a host nothing was pinned for: a typo is said as the typed value not matching,
// never as "the pinned fingerprint" (the user pinned nothing); a value that is no fingerprint is E_USAGE.
const { tempDir } = useWorkspace();

/** The host's fingerprint with its last hex digit changed: what a typo looks like. */
const typo = (fp: string) => `${fp.slice(0, -1)}${fp.endsWith('0') ? '1' : '0'}`;

describe('--fingerprint typed by the user', () => {
  it('that differs from the host certificate: E_TLS naming --fingerprint with both values, not a pin', async () => {
    const { host, port, token } = await startCliHost(tempDir('fp-host'));
    const started = host.stdout.find((l) => l.includes('"host-started"'))!;
    const { fingerprint } = JSON.parse(started) as { fingerprint: string };
    const given = typo(fingerprint);
    const common = ['--token', token, '--fingerprint', given, '--config-dir', tempDir('fp-client')];
    for (const args of [
      ['-s', '--connect-reverse-proxy', `127.0.0.1:${port}`, '--exit-on-login-failure', ...common],
      ['--list-services', `127.0.0.1:${port}`, ...common],
    ]) {
      const r = await runCli(args);
      expect(r.code).toBe(6);
      expect(r.stderr).toContain(
        `E_TLS: the certificate of 127.0.0.1:${port} does not match the fingerprint given with --fingerprint (given ${given}, the host's is ${fingerprint})`,
      );
      expect(r.stderr).not.toContain('pinned');
    }
  });

  it('that is no fingerprint: E_USAGE naming --fingerprint, exit 2, before any connection', async () => {
    const r = await runCli([
      '-s',
      '--connect-reverse-proxy',
      '127.0.0.1:1',
      '--token',
      't',
      '--fingerprint',
      'AB:CD:EF',
      '--exit-on-login-failure',
      '--config-dir',
      tempDir('fp-bad'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('E_USAGE: option --fingerprint "AB:CD:EF" is not a SHA-256 certificate fingerprint');
  });
});
