import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir } = useWorkspace();

describe('--add-user --json', () => {
  it('prints one JSON line naming the user and the file', async () => {
    const users = path.join(tempDir('users'), 'users.json');
    const r = await runCli(['--add-user', 'alice', '--users', users, '--json'], {
      P2PRC_PASSWORD: 'long-enough-password',
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ event: 'user-saved', user: 'alice', file: users });
  });
});
