import { beforeEach, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { useWorkspace } from '../helpers/workspace.js';

// Commands whose job is a write exit non-zero with the code and the file when the write fails. The
// failures are real files of the wrong kind (as root, permissions would not stop the write).
const { tempDir } = useWorkspace();
let dir: string;
beforeEach(() => {
  dir = tempDir('cli-writes');
});

const MAPPINGS = { version: 1, mappings: [] };

describe('record writes that fail', () => {
  it('--view-rpm --prune with a file where the config directory should be: exit 2, E_CONFIG and the path', async () => {
    const notADir = path.join(dir, 'config');
    await writeFile(notADir, 'a file');
    const r = await runCli(['--view-rpm', '--prune', '--config-dir', notADir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`^p2prc: error E_CONFIG: .*${notADir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'),
    );
    expect(r.stdout).toBe('');
  });

  it("--prune and --add-user that cannot take their file's lock: exit 1, E_LOCKED and the lock path; a read-only view still works", async () => {
    const mappings = path.join(dir, 'reverse_proxy_mapping.json');
    await writeFile(mappings, JSON.stringify(MAPPINGS));
    await mkdir(`${mappings}.lock`);
    const users = path.join(dir, 'users.json');
    await mkdir(`${users}.lock`);
    const [prune, addUser, view] = await Promise.all([
      runCli(['--view-rpm', '--prune', '--config-dir', dir]),
      runCli(['--add-user', 'alice', '--users', users], { P2PRC_PASSWORD: 'long-enough-password' }),
      runCli(['--view-rpm', '--json', '--config-dir', dir]),
    ]);
    expect(prune.code).toBe(1);
    expect(prune.stderr).toContain(`p2prc: error E_LOCKED: could not lock ${mappings}`);
    expect(addUser.code).toBe(1);
    expect(addUser.stderr).toContain(`p2prc: error E_LOCKED: could not lock ${users}`);
    expect(addUser.stdout).not.toContain('saved');
    expect(view.code).toBe(0);
    expect(JSON.parse(view.stdout).mappings).toEqual([]);
    expect(JSON.parse(await readFile(mappings, 'utf8'))).toEqual(MAPPINGS);
  });

  it('--add-user with a directory in place of the users file: exit 2, E_CONFIG naming it', async () => {
    const users = path.join(dir, 'users.json');
    await mkdir(users);
    const r = await runCli(['--add-user', 'alice', '--users', users, '--password', 'long-enough-password']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`p2prc: error E_CONFIG: cannot read users file ${users}`);
  });
});
