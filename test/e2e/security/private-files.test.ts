import { describe, expect, it } from 'vitest';
import { chmod, lstat, mkdir, readdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { P2prcError } from '../../../src/errors.js';
import { loadHostIdentity } from '../../../src/host/identity.js';
import { writeFileAtomic } from '../../../src/store/index.js';
import { runCli } from '../../helpers/cli.js';
import { useWorkspace } from '../../helpers/workspace.js';

const { tempDir } = useWorkspace();

const exists = (file: string) =>
  lstat(file).then(
    () => true,
    () => false,
  );

// Secrets are written without following a symlink planted at a predictable temp name.
describe('secrets on disk', () => {
  it('symlinks planted at the old temp names are not written through; the secrets are 0600 regular files', async () => {
    const root = tempDir('private');
    const state = path.join(root, 'host');
    const outside = path.join(root, 'outside');
    await mkdir(state, { mode: 0o700 });
    await mkdir(outside, { mode: 0o700 });
    // The names the old writer used (`<file>.<pid>.tmp`), pointing outside.
    for (const name of ['token.txt', 'host-key.pem', 'host-cert.pem']) {
      await symlink(path.join(outside, `${name}-via-tmp`), path.join(state, `${name}.${process.pid}.tmp`));
    }
    const id = await loadHostIdentity(state);
    expect(await readdir(outside)).toEqual([]);
    for (const name of ['token.txt', 'host-key.pem', 'host-cert.pem']) {
      const info = await lstat(path.join(state, name));
      expect(info.isFile()).toBe(true);
      expect(info.mode & 0o777).toBe(0o600);
    }
    expect((await readFile(path.join(state, 'token.txt'), 'utf8')).trim()).toBe(id.token);
    // The same identity on the next start, read from the regular files.
    expect((await loadHostIdentity(state)).fingerprint).toBe(id.fingerprint);
  });

  it('a symlink in place of a secret is refused (E_CONFIG), never read or written through', async () => {
    const root = tempDir('private');
    const state = path.join(root, 'host');
    await loadHostIdentity(state);
    await rm(path.join(state, 'token.txt'));
    await writeFileAtomic(path.join(root, 'planted.txt'), 'attacker-token\n');
    await symlink(path.join(root, 'planted.txt'), path.join(state, 'token.txt'));
    const err = await loadHostIdentity(state).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(P2prcError);
    expect((err as P2prcError).code).toBe('E_CONFIG');
    expect((err as P2prcError).details.path).toBe(path.join(state, 'token.txt'));
    // A dangling link where the key will be generated: refused, and nothing is created where it points.
    await rm(path.join(state, 'token.txt'));
    await rm(path.join(state, 'host-key.pem'));
    await symlink(path.join(root, 'key-via-target'), path.join(state, 'host-key.pem'));
    expect(await loadHostIdentity(state).catch((e: unknown) => (e as P2prcError).code)).toBe('E_CONFIG');
    expect(await exists(path.join(root, 'key-via-target'))).toBe(false);
  });

  it('writeFileAtomic leaves no temp file and writes 0600', async () => {
    const dir = tempDir('private');
    const file = path.join(dir, 'records.json');
    await writeFileAtomic(file, '{}\n');
    await writeFileAtomic(file, '{"a":1}\n');
    expect(await readdir(dir)).toEqual(['records.json']);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });
});

describe('group- or world-writable config directories', () => {
  it('a 0777 config directory is refused with E_CONFIG (exit 2) naming it and the chmod fix; nothing is written', async () => {
    const dir = tempDir('private');
    await chmod(dir, 0o777);
    const host = await runCli([
      '-s',
      '--reverse-proxy',
      '--bind',
      '127.0.0.1',
      '--control-port',
      '0',
      '--port',
      '0',
      '--config-dir',
      dir,
    ]);
    expect(host.code).toBe(2);
    expect(host.stderr).toContain('E_CONFIG');
    expect(host.stderr).toContain(dir);
    expect(host.stderr).toContain(`chmod go-w ${dir}`);
    expect(await exists(path.join(dir, 'host'))).toBe(false);
    const client = await runCli(['--connect-reverse-proxy', '127.0.0.1:1', '--expose', '1', '--config-dir', dir]);
    expect(client.code).toBe(2);
    expect(client.stderr).toContain('E_CONFIG');
  }, 30_000);

  it('the library refuses a group-writable state directory too, and accepts it after chmod go-w', async () => {
    const dir = tempDir('private');
    await chmod(dir, 0o770);
    const err = await loadHostIdentity(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(P2prcError);
    expect((err as P2prcError).code).toBe('E_CONFIG');
    expect((err as P2prcError).details).toMatchObject({ path: dir, mode: '0770' });
    expect(await readdir(dir)).toEqual([]);
    await chmod(dir, 0o750);
    expect((await loadHostIdentity(dir)).token).toMatch(/\S/);
  });
});
