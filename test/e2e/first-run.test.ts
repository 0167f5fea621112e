import { beforeEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { useWorkspace } from '../helpers/workspace.js';

// What a new user runs first: environment variables, help, mistyped flags.
const { tempDir } = useWorkspace();
let dir: string;
beforeEach(() => {
  dir = tempDir('first');
});

describe('environment variables', () => {
  it('P2PRC chooses the config dir and breaks no command', async () => {
    const rps = await runCli(['--view-rps', '--offline', '--json'], { P2PRC: dir });
    expect(rps.stderr).toBe('');
    expect(rps.code).toBe(0);
    const rpm = await runCli(['--view-rpm', '--json'], { P2PRC: dir });
    expect(rpm.code).toBe(0);
    expect(JSON.parse(rpm.stdout)).toMatchObject({ configDir: dir });
  });

  it('a P2PRC_* variable a command does not use is ignored', async () => {
    const r = await runCli(['--view-rpm', '--config-dir', dir], { P2PRC_FRP_BIN_DIR: dir, P2PRC_SOMETHING_ELSE: 'x' });
    expect(r.stderr).not.toContain('Unknown argument');
    expect(r.code).toBe(0);
  });

  it('a documented variable still fills its option, and help names it without showing the value', async () => {
    const help = await runCli(['-s', '--reverse-proxy', '--help'], { P2PRC_TOKEN: 'do-not-print-me' });
    expect(help.code).toBe(0);
    expect(help.stdout).not.toContain('do-not-print-me');
    const users = await runCli(['--add-user', 'alice', '--users', path.join(dir, 'users.json')], {
      P2PRC_PASSWORD: 'a-long-password',
    });
    expect(users.stderr).toBe('');
    expect(users.code).toBe(0);
  });
});
