import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { debugFailure } from '../log/debug.js';
import { isProcessAlive, withFileLock, writeFileAtomic } from './atomic.js';
import { readTextFile } from './json-file.js';

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
    const all = await readEntries(file);
    const mine = all[name];
    if (mine && mine.pid !== process.pid && isProcessAlive(mine.pid)) return randomBytes(12).toString('hex');
    const id = mine?.id ?? randomBytes(12).toString('hex');
    await writeFileAtomic(file, `${JSON.stringify({ ...all, [name]: { id, pid: process.pid } }, null, 2)}\n`);
    return id;
  });
}

async function readEntries(file: string): Promise<Record<string, Entry>> {
  const text = await readTextFile(file);
  if (text === undefined) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const ok = Object.entries(parsed).filter(
        ([, v]) => typeof (v as Entry)?.id === 'string' && Number.isInteger((v as Entry)?.pid),
      );
      return Object.fromEntries(ok) as Record<string, Entry>;
    }
  } catch (err) {
    // A damaged identity file costs only the ports held for the old identity: start over rather than refuse to run.
    debugFailure(`${file} is not JSON; client identities start over`, err, 'E_CONFIG');
  }
  return {};
}
