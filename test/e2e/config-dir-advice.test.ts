import { describe, expect, it } from 'vitest';
import { chmod } from 'node:fs/promises';
import { runCli } from '../helpers/cli.js';
import { useWorkspace } from '../helpers/workspace.js';

// A config directory others may write to is refused; the advice never touches a directory shared by design.
const { tempDir } = useWorkspace();

describe('advice for a writable config directory', () => {
  it('--config-dir /tmp: E_CONFIG, exit 2, another directory offered, no chmod advice', async () => {
    const r = await runCli(['-s', '--connect-reverse-proxy', '127.0.0.1:1', '--token', 't', '--config-dir', '/tmp']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('p2prc: error E_CONFIG: config directory /tmp is writable by everyone');
    expect(r.stderr).toContain('choose another with --config-dir or $P2PRC');
    expect(r.stderr).not.toContain('chmod');
  });

  it('a sticky directory of your own is shared on purpose: no chmod advice either', async () => {
    const dir = tempDir('sticky');
    await chmod(dir, 0o1777);
    const r = await runCli(['-s', '--connect-reverse-proxy', '127.0.0.1:1', '--token', 't', '--config-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`config directory ${dir} is writable by everyone (mode 1777)`);
    expect(r.stderr).not.toContain('chmod');
  });

  it('a group-writable directory of your own still gets the chmod fix', async () => {
    const dir = tempDir('group');
    await chmod(dir, 0o770);
    const r = await runCli(['-s', '--connect-reverse-proxy', '127.0.0.1:1', '--token', 't', '--config-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`fix it with chmod go-w ${dir}, or choose another`);
  });
});
