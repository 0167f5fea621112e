import { readFile } from 'node:fs/promises';
import { P2prcError } from '../errors.js';
import { makeUser, parseUsers, type UserRecord } from '../protocol/users.js';
import { withFileLock, writeFileAtomic } from '../store/atomic.js';

/** Reads and validates a users file (as made by `addUser`) for `HostServiceOptions.users`; E_CONFIG names the file. */
export async function loadUsers(file: string): Promise<UserRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new P2prcError('E_CONFIG', `cannot read users file ${file}: ${(err as Error).message}`, { cause: err, details: { path: file } });
  }
  return parseUsers(text, file);
}

/** `p2prc --add-user`: adds or replaces a user (scrypt hash, never the password), under the file lock, atomically. */
export async function addUser(file: string, name: string, password: string): Promise<void> {
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name)) throw new P2prcError('E_USAGE', `user name "${name}" must be 1-64 of A-Z a-z 0-9 _ . @ -`);
  if (password.length < 8) throw new P2prcError('E_USAGE', 'the password must have at least 8 characters');
  await withFileLock(file, async () => {
    const users = await loadUsers(file).catch((err: unknown) => {
      // A first user creates the file; any other read failure stops the write.
      if (err instanceof P2prcError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return [];
      throw err;
    });
    const next = [...users.filter((u) => u.name !== name), makeUser(name, password)];
    await writeFileAtomic(file, `${JSON.stringify({ users: next }, null, 2)}\n`);
  });
}
