import { mkdir, open, unlink } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { P2prcError } from '../errors.js';
import { assertPrivateDir } from './private-file.js';
import { ensureGoKeys } from './go-keys.js';

/**
 * Makes sure the config directory exists and takes a file, before a host or a client starts
 * anything: the same E_CONFIG, path and fix on both sides, instead of whatever fs call happened to
 * fail first deep inside (EACCES from a mkdir on the host, a lock file on the client). Then gives
 * config.json the keys P2PRC's Go needs to share the directory (go-keys.ts).
 */
export async function ensureConfigDir(dir: string): Promise<void> {
  await assertPrivateDir(dir);
  const probe = path.join(dir, `.p2prc-write-test.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const handle = await open(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    await handle.close();
    await unlink(probe);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new P2prcError(
      'E_CONFIG',
      `config directory ${dir} is not writable (${reason}): make it a directory you can write to (chmod u+w, or remove what is in its place), or choose another with --config-dir or $P2PRC`,
      { cause: err, details: { path: dir } },
    );
  }
  await ensureGoKeys(dir);
}
