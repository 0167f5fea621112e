/**
 * How a reverse proxy heard of from a peer enters reverse_proxy_server.json (pure; no fs).
 *
 * A peer's IP table is an unauthenticated claim. It may add what we did not know, never change
 * what the operator knows: a record the operator made (connected to it, or wrote), or an address
 * the operator pinned, is left exactly as it is. Peer records are keyed by address, control port
 * and fingerprint, so a peer advertising another certificate for a known address adds a separate,
 * unconfirmed record instead of replacing the fingerprint. The number of peer records is capped;
 * the least recently seen one makes room.
 */
import type { ServerRecord } from './schema.js';

export const MAX_PEER_SERVERS = 256;

const sameAddress = (a: ServerRecord, b: { address: string; controlPort: number }) =>
  a.address === b.address && a.controlPort === b.controlPort;

/** Fingerprints compare case- and colon-insensitively; null matches only null. */
export function sameFingerprint(a: string | null | undefined, b: string | null | undefined): boolean {
  const canon = (x: string | null | undefined) => (x ? x.replace(/:/g, '').toUpperCase() : null);
  return canon(a) === canon(b);
}

/** True for records written because a peer told us, not by the operator. */
export function isPeerRecord(s: ServerRecord): boolean {
  return s.peer === true;
}

/**
 * Merges a peer-learned record into `servers` (in place). `pinned` says whether the operator pinned
 * that address (config fingerprints). Returns what happened, for logs and tests.
 */
export function mergePeerServer(
  servers: ServerRecord[],
  record: ServerRecord,
  pinned: boolean,
  max = MAX_PEER_SERVERS,
): 'added' | 'updated' | 'ignored' {
  const here = servers.filter((s) => sameAddress(s, record));
  if (pinned || here.some((s) => !isPeerRecord(s))) return 'ignored';
  const match = here.find((s) => sameFingerprint(s.fingerprint, record.fingerprint));
  if (match) {
    Object.assign(match, { ...record, id: match.id, firstSeen: match.firstSeen, peer: true });
    return 'updated';
  }
  const peers = servers.filter(isPeerRecord);
  if (peers.length >= max) {
    const oldest = peers.reduce((a, b) => (Date.parse(a.lastSeen) <= Date.parse(b.lastSeen) ? a : b));
    servers.splice(servers.indexOf(oldest), 1);
  }
  // A second claim for the same address gets its own id (the fingerprint tells them apart).
  const id =
    here.length === 0 ? record.id : `${record.id}#${(record.fingerprint ?? 'none').replace(/:/g, '').slice(0, 16)}`;
  servers.push({ ...record, id, peer: true });
  return 'added';
}

/**
 * An operator's record (a connection made, a host started here): replaces what peers claimed for
 * the same address, since the operator's own connection saw the real certificate.
 */
export function mergeOperatorServer(servers: ServerRecord[], record: ServerRecord): ServerRecord[] {
  const here = servers.filter((s) => sameAddress(s, record));
  const old = here.find((s) => !isPeerRecord(s)) ?? here[0];
  const merged: ServerRecord = old
    ? {
        ...old,
        ...record,
        firstSeen: old.firstSeen,
        fingerprint: record.fingerprint ?? old.fingerprint,
        version: record.version ?? old.version,
      }
    : record;
  delete merged.peer;
  if (!old) return [...servers, merged];
  return servers.filter((s) => !sameAddress(s, record) || s === old).map((s) => (s === old ? merged : s));
}
