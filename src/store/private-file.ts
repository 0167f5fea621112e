import { lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { P2prcError } from '../errors.js';
import { debugFailure } from '../log/debug.js';

/**
 * The one way secrets and records reach the disk (token, host key and certificate, secrets.json, records, users):
 * a temp file with a random name, created with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600, so a symlink
 * or file planted at that name is never followed or reused; fsync; rename over the target (rename
 * replaces a symlink at the target, it does not write through it); fsync of the directory. A crash
 * leaves the old file or the new one, never half of either.
 */
export async function writePrivateFile(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(12).toString('hex')}.tmp`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const handle = await open(tmp, flags, 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    // The rename's own error is what the caller needs; a leftover temp file is only worth a debug line.
    await unlink(tmp).catch((e: unknown) => debugFailure(`cannot remove ${tmp}`, e, 'E_CONFIG'));
    throw err;
  }
  // Some file systems refuse to open or fsync a directory; the rename above has happened either way.
  const d = await open(dir, constants.O_RDONLY).catch((e: unknown) =>
    debugFailure(`cannot open ${dir} to fsync it`, e, 'E_CONFIG'),
  );
  if (d) {
    await d.sync().catch((e: unknown) => debugFailure(`cannot fsync ${dir}`, e, 'E_CONFIG'));
    await d.close();
  }
}

/**
 * Refuses a directory for secrets that other users could write to (group- or world-writable, even
 * with the sticky bit): they could plant symlinks or files where tokens, keys and pins are written,
 * or replace them. E_CONFIG names the directory and its mode, and offers another directory; the chmod
 * that fixes it is offered only for a directory of the user's own that is not shared by design (a
 * sticky one such as /tmp is shared on purpose: changing it would break the system's other users).
 */
export async function assertPrivateDir(dir: string): Promise<void> {
  let stat: Stats;
  try {
    stat = await lstat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // created 0700 by whoever writes first
    throw err;
  }
  const mode = stat.mode;
  if ((mode & 0o022) === 0) return;
  const octal = (mode & 0o7777).toString(8).padStart(4, '0');
  const own = stat.uid === process.getuid?.() && (mode & 0o1000) === 0;
  const fix = `${own ? `fix it with chmod go-w ${dir}, or ` : ''}choose another with --config-dir or $P2PRC`;
  throw new P2prcError(
    'E_CONFIG',
    `config directory ${dir} is writable by ${mode & 0o002 ? 'everyone' : 'its group'} (mode ${octal}): other users could replace its tokens and keys; ${fix}`,
    { details: { path: dir, mode: octal } },
  );
}
