import { beforeEach, describe, expect, it } from 'vitest';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { useWorkspace } from '../helpers/workspace.js';

// Mistyped flags, help, --json errors, --repair where the error suggests it.
const { tempDir } = useWorkspace();
let dir: string;
beforeEach(() => {
  dir = tempDir('usage');
});

describe('usage errors a new user makes', () => {
  it('only the unknown flag is called unknown, with the closest known one', async () => {
    const bogus = await runCli(['--bogus', '--config-dir', dir]);
    expect(bogus.code).toBe(2);
    // One line saying what is wrong and where to look, not the whole usage before it.
    expect(bogus.stderr).toBe('p2prc: error E_USAGE: unknown flag --bogus; run p2prc --help for the commands');
    expect(bogus.stderr).not.toMatch(/unknown.*config-dir/);
    const typo = await runCli([
      '-s',
      '--connect-reverse-proxy',
      '127.0.0.1:1',
      '--expose-port',
      '3000',
      '--config-dir',
      dir,
    ]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe(
      'p2prc: error E_USAGE: unknown flag --expose-port (did you mean --expose?); run p2prc -s --connect-reverse-proxy --help for its flags',
    );
  });

  it('p2prc help prints the help and exits 0, with the exit codes in it (no path to docs an installed user lacks)', async () => {
    const r = await runCli(['help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage:');
    expect(r.stdout).toMatch(/^Exit codes:$/m);
    expect(r.stdout).toMatch(/^ {2}3 {2}wrong token, password or service secret \(E_AUTH, E_SECRET\)$/m);
    expect(r.stdout).not.toContain('docs/cli.md');
  });

  it('a missing required option is named as a flag, with where to look', async () => {
    const r = await runCli(['--visit', 'db', '--config-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('p2prc: error E_USAGE: missing --host; run p2prc --visit --help for its flags');
  });

  it('no command at all in the flags: one line, exit 2', async () => {
    const r = await runCli(['--json', '--config-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^p2prc: error E_USAGE: no command chosen in: .*; run p2prc --help for the commands/);
  });

  it('--json errors are JSON on stdout too', async () => {
    const r = await runCli([
      '-s',
      '--connect-reverse-proxy',
      '127.0.0.1:1',
      '--expose-port',
      '3000',
      '--json',
      '--config-dir',
      dir,
    ]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: 'E_USAGE',
        message:
          'unknown flag --expose-port (did you mean --expose?); run p2prc -s --connect-reverse-proxy --help for its flags',
      },
    });
  });

  it('connect accepts the --repair its corrupt-file error suggests', async () => {
    await writeFile(path.join(dir, 'reverse_proxy_mapping.json'), '{ not json');
    const broken = await runCli([
      '-s',
      '--connect-reverse-proxy',
      '127.0.0.1:1',
      '--token',
      't',
      '--exit-on-login-failure',
      '--config-dir',
      dir,
    ]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('--repair');
    const repaired = await runCli([
      '-s',
      '--connect-reverse-proxy',
      '127.0.0.1:1',
      '--token',
      't',
      '--exit-on-login-failure',
      '--repair',
      '--config-dir',
      dir,
    ]);
    expect(repaired.stderr).toContain('moved the corrupt file aside to');
    expect(repaired.code).toBe(5); // now it gets as far as the (closed) host port
    expect((await readdir(dir)).some((f) => f.startsWith('reverse_proxy_mapping.json.corrupt-'))).toBe(true);
  });
});

describe('IPv6 addresses', () => {
  it('are printed as [addr]:port', async () => {
    const r = await runCli([
      '-s',
      '--connect-reverse-proxy',
      '[::1]:1',
      '--token',
      't',
      '--exit-on-login-failure',
      '--config-dir',
      dir,
    ]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('[::1]:1 is unreachable');
    expect(r.stderr).not.toMatch(/[^[]::1:1 /);
  });
});
