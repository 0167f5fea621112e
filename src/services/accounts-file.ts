import { readFile } from 'node:fs/promises';
import { P2prcError } from '../errors.js';
import { makeUser, parseUsers, type UserRecord } from './accounts.js';
import { withFileLock, writeFileAtomic } from '../store/atomic.js';
import { repairFile } from '../store/json-file.js';

async function readUsersText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new P2prcError('E_CONFIG', `cannot read users file ${file}: ${(err as Error).message}`, {
      cause: err,
      details: { path: file },
    });
  }
}

/** Reads and validates a users file (as made by `addUser`) for `HostServiceOptions.users`; E_CONFIG names the file. */
export async function loadUsers(file: string): Promise<UserRecord[]> {
  return parseUsers(await readUsersText(file), file);
}

/** `--repair` on a host: a users file loadUsers refuses is moved aside (`<file>.corrupt-<time>`); where it went. */
export async function repairUsers(file: string): Promise<string | undefined> {
  return repairFile(file, () => loadUsers(file));
}

/**
 * The file's entries as they are, so that `--add-user` can re-create an old-format entry (which
 * loadUsers refuses) while the others are kept untouched; a file that is not {"users": [...]} stops the write.
 */
async function rawEntries(file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readUsersText(file);
  } catch (err) {
    // A first user creates the file; any other read failure stops the write.
    if ((err as P2prcError).cause && ((err as P2prcError).cause as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return parseUsers(text, file); // throws the E_CONFIG that names the file
  }
  const users = (data as { users?: unknown } | null)?.users;
  return Array.isArray(users) ? users : parseUsers(text, file);
}

/** `p2prc --add-user`: adds or replaces a user (salt, StoredKey, ServerKey; never the password), under the file lock, atomically. */
export async function addUser(file: string, name: string, password: string): Promise<void> {
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name))
    throw new P2prcError('E_USAGE', `user name "${name}" must be 1-64 of A-Z a-z 0-9 _ . @ -`);
  if (password.length < 8) throw new P2prcError('E_USAGE', 'the password must have at least 8 characters');
  await withFileLock(file, async () => {
    const users = await rawEntries(file);
    const next = [...users.filter((u) => (u as { name?: unknown } | null)?.name !== name), makeUser(name, password)];
    await writeFileAtomic(file, `${JSON.stringify({ users: next }, null, 2)}\n`);
  });
}
