import path from 'node:path';
import { P2prcError } from '../errors.js';
import { withFileLock, writeFileAtomic } from './atomic.js';
import { readJsonFile } from './json-file.js';

/**
 * <config dir>/p2p/iptable/ip_table.json: P2PRC's own table file (config/generate/generate.go puts
 * IPTable at <P2PRC root>/p2p/iptable/ip_table.json, the root coming from env P2PRC), so P2PRC
 * tooling pointed at the same root reads what a p2prc node knows, and `--as` entries reach the node.
 */
export const IPTABLE_FILE = path.join('p2p', 'iptable', 'ip_table.json');

export type TableEntry = Record<string, unknown>;
export interface TableFile {
  ip_address: TableEntry[];
  [extra: string]: unknown;
}

export function ipTablePath(dir: string): string {
  return path.join(dir, IPTABLE_FILE);
}

/** The address key P2PRC compares entries by (p2p/iptable.go, RemoveDuplicates: IPV4 with ServerPort, or IPV6). */
export function tableEntryKey(e: TableEntry): string {
  return `${String(e.IPV4 || e.IPV6 || '')}:${String(e.ServerPort ?? '')}`;
}

async function load(file: string): Promise<TableFile> {
  const parsed = await readJsonFile(file);
  if (parsed === undefined) return { ip_address: [] };
  const list = (parsed as TableFile | null)?.ip_address;
  // P2PRC writes "ip_address": null for an empty table (a nil Go slice).
  if (typeof parsed !== 'object' || parsed === null || (list !== null && !Array.isArray(list))) {
    throw new P2prcError('E_CONFIG', `${file} is not an IP table ({"ip_address": [...]}); it was left untouched`, {
      details: { path: file },
    });
  }
  const entries = (list ?? []).filter((e): e is TableEntry => typeof e === 'object' && e !== null && !Array.isArray(e));
  return { ...(parsed as TableFile), ip_address: entries };
}

export async function readIpTableFile(dir: string): Promise<TableFile> {
  return load(ipTablePath(dir));
}

/** Read-modify-write under the file's lock, written atomically and indented as Go's MarshalIndent(t, "", " "). */
export async function modifyIpTableFile<R>(dir: string, fn: (table: TableFile) => R): Promise<R> {
  const file = ipTablePath(dir);
  return withFileLock(file, async () => {
    const table = await load(file);
    const result = fn(table);
    await writeFileAtomic(file, JSON.stringify(table, null, 1));
    return result;
  });
}

/** `--as`: adds a node by address unless one with the same address and port is there; true when added. */
export async function addIpTableEntry(dir: string, entry: TableEntry): Promise<boolean> {
  return modifyIpTableFile(dir, (table) => {
    if (table.ip_address.some((e) => tableEntryKey(e) === tableEntryKey(entry))) return false;
    table.ip_address.push(entry);
    return true;
  });
}

/** `--remove-server`: removes the nodes `match` picks and returns them. The file is written only when one was there. */
export async function removeIpTableEntries(dir: string, match: (e: TableEntry) => boolean): Promise<TableEntry[]> {
  const file = ipTablePath(dir);
  if ((await readIpTableFile(dir)).ip_address.every((e) => !match(e))) return [];
  return withFileLock(file, async () => {
    const table = await load(file);
    const removed = table.ip_address.filter(match);
    const kept = table.ip_address.filter((e) => !match(e));
    if (removed.length > 0) await writeFileAtomic(file, JSON.stringify({ ...table, ip_address: kept }, null, 1));
    return removed;
  });
}
