import path from 'node:path';
import { P2prcError, toP2prcError } from '../errors.js';
import { withFileLock, writeFileAtomic } from './atomic.js';
import { ensureConfigDir } from './config-dir.js';
import { readJsonFile, repairFile } from './json-file.js';
import { mergeOperatorServer, mergePeerServer } from './peer-records.js';
import {
  RECORDS_VERSION,
  validateMapping,
  validateMappingsFile,
  validateServer,
  validateServersFile,
  type MappingRecord,
  type MappingsFile,
  type ServerRecord,
  type ServersFile,
} from './schema.js';

export const SERVERS_FILE = 'reverse_proxy_server.json';
export const MAPPINGS_FILE = 'reverse_proxy_mapping.json';

/** Each record file's shape, by the name of its list. */
interface RecordFiles {
  servers: ServersFile;
  mappings: MappingsFile;
}
type Which = keyof RecordFiles;

/** What a missing file reads as. */
const EMPTY: { [W in Which]: () => RecordFiles[W] } = {
  servers: () => ({ version: RECORDS_VERSION, servers: [] }),
  mappings: () => ({ version: RECORDS_VERSION, mappings: [] }),
};

/** Closed tunnels stay in the mapping file this long (a day), then the next run drops them. */
export const CLOSED_KEPT_MS = 24 * 60 * 60 * 1000;

/** Reads and validates a record file; missing means empty; anything else wrong is E_CONFIG naming the file. */
async function load<W extends Which>(file: string, which: W): Promise<RecordFiles[W]> {
  const parsed = await readJsonFile(file, { fix: 'fix it or move it aside with --repair' });
  if (parsed === undefined) return EMPTY[which]();
  const problem = which === 'servers' ? validateServersFile(parsed) : validateMappingsFile(parsed);
  if (problem) {
    throw new P2prcError(
      'E_CONFIG',
      `${file} does not match its schema: ${problem}; it was left untouched — fix it or move it aside with --repair`,
      { details: { path: file } },
    );
  }
  return parsed as RecordFiles[W];
}

/** The warning line for a record write that failed while the process carries on: what, file, code, reason. */
export function recordWriteWarning(what: string, file: string, err: unknown): string {
  const e = toP2prcError(err, 'E_CONFIG');
  return `cannot record ${what} in ${file}: ${e.code}: ${e.message}`;
}

/**
 * reverse_proxy_server.json and reverse_proxy_mapping.json in one directory. Every change is a
 * read-modify-write under a cross-process lock, written atomically; unknown fields survive.
 */
export class RecordStore {
  readonly serversPath: string;
  readonly mappingsPath: string;

  constructor(readonly dir: string) {
    this.serversPath = path.join(dir, SERVERS_FILE);
    this.mappingsPath = path.join(dir, MAPPINGS_FILE);
  }

  async readServers(): Promise<ServerRecord[]> {
    return (await load(this.serversPath, 'servers')).servers;
  }

  async readMappings(): Promise<MappingRecord[]> {
    return (await load(this.mappingsPath, 'mappings')).mappings;
  }

  private async modify<W extends Which, R>(file: string, which: W, fn: (data: RecordFiles[W]) => R): Promise<R> {
    return withFileLock(file, async () => {
      const data = await load(file, which);
      const result = fn(data);
      await writeFileAtomic(file, `${JSON.stringify(data, null, 2)}\n`);
      return result;
    });
  }

  /** Inserts or merges by address + control port; firstSeen of an existing entry is kept. */
  async upsertServer(record: ServerRecord): Promise<void> {
    const problem = validateServer(record);
    if (problem) throw new P2prcError('E_CONFIG', `refusing to record an invalid ${problem}`);
    await this.modify(this.serversPath, 'servers', (data) => {
      data.servers = mergeOperatorServer(data.servers, record);
    });
  }

  /**
   * A proxy a peer told us about: never changes an operator's or a pinned record, keyed by address
   * and fingerprint, capped in number (see peer-records.ts). `pinned` checks the address's pin.
   */
  async upsertPeerServer(
    record: ServerRecord,
    pinned: (address: string, controlPort: number) => boolean,
  ): Promise<'added' | 'updated' | 'ignored'> {
    const problem = validateServer(record);
    if (problem) throw new P2prcError('E_CONFIG', `refusing to record an invalid ${problem}`);
    return this.modify(this.serversPath, 'servers', (data) =>
      mergePeerServer(data.servers, record, pinned(record.address, record.controlPort)),
    );
  }

  /**
   * A probe saw these hosts answer: moves their lastSeen on and fills a version they reported.
   * Only the probed fields change, under the lock, so a concurrent writer's other edits survive.
   */
  async markServersSeen(seen: Array<{ id: string; lastSeen: string; version?: string | undefined }>): Promise<void> {
    if (seen.length === 0) return;
    await this.modify(this.serversPath, 'servers', (data) => {
      for (const s of seen) {
        const r = data.servers.find((x) => x.id === s.id);
        if (!r) continue;
        r.lastSeen = s.lastSeen;
        if (s.version) r.version = s.version;
      }
    });
  }

  async upsertMapping(record: MappingRecord): Promise<void> {
    const problem = validateMapping(record);
    if (problem) throw new P2prcError('E_CONFIG', `refusing to record an invalid ${problem}`);
    await this.modify(this.mappingsPath, 'mappings', (data) => {
      const i = data.mappings.findIndex((m) => m.id === record.id);
      if (i < 0) data.mappings.push(record);
      else data.mappings[i] = { ...data.mappings[i]!, ...record };
    });
  }

  /** Patches one mapping; returns false when there is no such id. */
  async updateMapping(id: string, patch: Partial<MappingRecord>): Promise<boolean> {
    return this.modify(this.mappingsPath, 'mappings', (data) => {
      const m = data.mappings.find((x) => x.id === id);
      if (m) Object.assign(m, patch);
      return !!m;
    });
  }

  async removeMappings(predicate: (m: MappingRecord) => boolean): Promise<number> {
    return this.modify(this.mappingsPath, 'mappings', (data) => {
      const before = data.mappings.length;
      data.mappings = data.mappings.filter((m) => !predicate(m));
      return before - data.mappings.length;
    });
  }

  /**
   * Before a command contacts any host: both files readable, valid and writable (each taken under
   * its lock and written back), so nothing gets published that could not be recorded. Closed rows
   * older than a day go on the way (stale ones stay: they are what --view-rpm warns about).
   */
  async prepare(now = Date.now()): Promise<void> {
    await ensureConfigDir(this.dir);
    await this.modify(this.serversPath, 'servers', () => undefined);
    await this.modify(this.mappingsPath, 'mappings', (data) => {
      data.mappings = data.mappings.filter(
        (m) => m.status !== 'closed' || now - Date.parse(m.closedAt ?? m.updatedAt) < CLOSED_KEPT_MS,
      );
    });
  }

  /** Moves a corrupt file aside (never deletes it) so a fresh one can start; returns the new path. */
  async repair(which: Which): Promise<string | undefined> {
    const file = which === 'servers' ? this.serversPath : this.mappingsPath;
    return repairFile(file, () => load(file, which));
  }
}
