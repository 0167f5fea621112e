import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { P2prcError } from '../errors.js';
import { isProcessAlive, withFileLock, writeFileAtomic } from './atomic.js';
import { REPAIR_HINT, readJsonFile } from './json-file.js';

export const CLIENTS_FILE = 'client_ids.json';

interface Entry {
  id: string;
  pid: number;
}

/**
 * The identity a client presents to hosts, stable per config dir and client name: the host keeps a
 * lost client's ports for it during its grace period and gives them back only to the same identity,
 * so a client restarted after a crash or kill -9 must come back as itself. A second client running
 * at the same time from the same dir and name gets a fresh identity for its run, or the two would
 * keep replacing each other's connection on the host.
 */
export async function claimClientId(configDir: string, name: string): Promise<string> {
  const file = path.join(configDir, CLIENTS_FILE);
  return withFileLock(file, async () => {
    const all = await readClientIds(file);
    const mine = all[name];
    if (mine && mine.pid !== process.pid && isProcessAlive(mine.pid)) return randomBytes(12).toString('hex');
    const id = mine?.id ?? randomBytes(12).toString('hex');
    await writeFileAtomic(file, `${JSON.stringify({ ...all, [name]: { id, pid: process.pid } }, null, 2)}\n`);
    return id;
  });
}

/** client_ids.json's entries; a file that is not JSON, or not {name: {id, pid}}, is E_CONFIG naming it, left as it is. */
export async function readClientIds(file: string): Promise<Record<string, Entry>> {
  const parsed = await readJsonFile(file);
  if (parsed === undefined) return {};
  const fine =
    parsed !== null &&
    typeof parsed === 'object' &&
    !Array.isArray(parsed) &&
    Object.values(parsed).every((v) => typeof (v as Entry)?.id === 'string' && Number.isInteger((v as Entry)?.pid));
  if (!fine)
    throw new P2prcError(
      'E_CONFIG',
      `${file} does not hold client identities ({"<name>": {"id": ..., "pid": ...}}); it was left untouched — ${REPAIR_HINT}`,
      { details: { path: file } },
    );
  return parsed as Record<string, Entry>;
}
