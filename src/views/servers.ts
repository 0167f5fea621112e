import { probeHost, type ProbeState } from '../client/probe.js';
import {
  RecordStore,
  isProcessAlive,
  recordWriteWarning,
  type MappingRecord,
  type ServerRecord,
} from '../store/index.js';
import { dial } from '../transport/net.js';
import { debugFailure } from '../log/debug.js';

export type ServerState = ProbeState | 'unknown';
export type MappingState = 'active' | 'reconnecting' | 'stale' | 'closed';

export interface ServerView extends ServerRecord {
  state: ServerState;
  latencyMs: number | null;
}

export interface MappingView extends MappingRecord {
  state: MappingState;
}

export interface ViewServersOptions {
  offline?: boolean;
  timeoutMs?: number;
  /** A failed write-back of what the probe saw (read-only dir, lock held): the view is still shown. */
  onWarning?: (line: string) => void;
}

/**
 * `p2prc --view-rps`: reverse_proxy_server.json with each host probed live, in parallel, each
 * bounded by timeoutMs. Hosts that answered get lastSeen (and the version they sent) written back.
 */
export async function viewServers(configDir: string, opts: ViewServersOptions = {}): Promise<ServerView[]> {
  const store = new RecordStore(configDir);
  const servers = await store.readServers();
  const timeoutMs = opts.timeoutMs ?? 1_500;
  const rows = await Promise.all(
    servers.map((s) =>
      opts.offline ? { ...s, state: 'unknown' as const, latencyMs: null } : probeServer(s, timeoutMs),
    ),
  );
  const seen = rows
    .filter((r) => r.state === 'alive')
    .map((r) => ({ id: r.id, lastSeen: r.lastSeen, version: r.version ?? undefined }));
  await store
    .markServersSeen(seen)
    .catch((err: unknown) =>
      opts.onWarning?.(`warning: ${recordWriteWarning('what the probe saw', store.serversPath, err)}`),
    );
  return rows;
}

/** One host probed: a p2prc host by its handshake, a stock frps by its port answering. Never throws. */
async function probeServer(s: ServerRecord, timeoutMs: number): Promise<ServerView> {
  const seenAt = () => new Date().toISOString();
  if (s.engine === 'frp') {
    // A stock frps does not speak our handshake; reachability of its port is what we can tell.
    const started = performance.now();
    try {
      const { socket } = await dial({ host: s.address, port: s.controlPort, tls: false, timeoutMs });
      socket.destroy();
      return { ...s, lastSeen: seenAt(), state: 'alive', latencyMs: Math.round(performance.now() - started) };
    } catch (err) {
      debugFailure(`frps ${s.address}:${s.controlPort} is down`, err, 'E_UNREACHABLE');
      return { ...s, state: 'down', latencyMs: null };
    }
  }
  const r = await probeHost(s.address, s.controlPort, {
    tls: s.tls,
    fingerprint: s.fingerprint ?? undefined,
    timeoutMs,
  });
  if (r.state !== 'alive') return { ...s, state: r.state, latencyMs: r.latencyMs ?? null };
  return { ...s, lastSeen: seenAt(), version: r.version ?? s.version, state: r.state, latencyMs: r.latencyMs ?? null };
}

/**
 * A mapping's state: closed as recorded; stale when its owner process is gone; reconnecting while
 * the live owner has recorded that it lost its host; else active.
 */
export function mappingState(m: MappingRecord): MappingState {
  if (m.status === 'closed') return 'closed';
  if (!isProcessAlive(m.pid)) return 'stale';
  return m.reconnectingSince ? 'reconnecting' : 'active';
}

/** `p2prc --view-rpm`: reverse_proxy_mapping.json, each entry with its state. */
export async function viewMappings(configDir: string): Promise<MappingView[]> {
  const mappings = await new RecordStore(configDir).readMappings();
  return mappings.map((m) => ({ ...m, state: mappingState(m) }));
}

/** `--view-rpm --prune`: removes closed and stale entries (under the lock); returns how many went. */
export async function pruneMappings(configDir: string): Promise<number> {
  return new RecordStore(configDir).removeMappings((m) => ['closed', 'stale'].includes(mappingState(m)));
}

/** `--repair`: moves a corrupt record file aside (never deletes it); returns where it went, or undefined when it was fine. */
export async function repairRecords(configDir: string, which: 'servers' | 'mappings'): Promise<string | undefined> {
  return new RecordStore(configDir).repair(which);
}
