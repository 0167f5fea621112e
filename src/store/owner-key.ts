import { constants } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { P2prcError } from '../errors.js';

export const OWNER_KEY_FILE = 'service-owner.key';

/**
 * This machine's service owner key (created once, 0600, never overwritten): the host binds an ID to
 * its hash, so the owner gets its ID back after a restart and nobody else can take it meanwhile.
 */
export async function ownerKey(configDir: string): Promise<string> {
  const file = path.join(configDir, OWNER_KEY_FILE);
  const existing = await readFile(file, 'utf8').then(
    (t) => t.trim(),
    () => '',
  );
  if (/^[0-9a-f]{64}$/.test(existing)) return existing;
  const key = randomBytes(32).toString('hex');
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  try {
    // O_EXCL|O_NOFOLLOW: never through a planted symlink, never over a key another process just made.
    const fh = await open(
      file,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    await fh.writeFile(`${key}\n`);
    await fh.close();
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const raced = (await readFile(file, 'utf8')).trim();
    if (!/^[0-9a-f]{64}$/.test(raced))
      throw new P2prcError('E_CONFIG', `${file} is not a service owner key; move it aside`);
    return raced;
  }
}
