import { probeHost, type ProbeState } from '../client/probe.js';
import { RecordStore, isProcessAlive, type MappingRecord, type ServerRecord } from '../store/index.js';
import { dial } from '../transport/net.js';
import { debugFailure } from '../log.js';

export type ServerState = ProbeState | 'unknown';
export type MappingState = 'active' | 'stale' | 'closed';

export interface ServerView extends ServerRecord {
  state: ServerState;
  latencyMs: number | null;
}

export interface MappingView extends MappingRecord {
  state: MappingState;
}

/** `p2prc --view-rps`: reverse_proxy_server.json with each host probed live, in parallel, each bounded by timeoutMs. */
export async function viewServers(configDir: string, opts: { offline?: boolean; timeoutMs?: number } = {}): Promise<ServerView[]> {
  const servers = await new RecordStore(configDir).readServers();
  const timeoutMs = opts.timeoutMs ?? 1_500;
  return Promise.all(
    servers.map(async (s): Promise<ServerView> => {
      if (opts.offline) return { ...s, state: 'unknown', latencyMs: null };
      if (s.engine === 'frp') {
        // A stock frps does not speak our handshake; reachability of its port is what we can tell.
        const started = performance.now();
        try {
          const { socket } = await dial({ host: s.address, port: s.controlPort, tls: false, timeoutMs });
          socket.destroy();
          return { ...s, state: 'alive', latencyMs: Math.round(performance.now() - started) };
        } catch (err) {
          debugFailure(`frps ${s.address}:${s.controlPort} is down`, err, 'E_UNREACHABLE');
          return { ...s, state: 'down', latencyMs: null };
        }
      }
      const r = await probeHost(s.address, s.controlPort, { tls: s.tls, fingerprint: s.fingerprint ?? undefined, timeoutMs });
      return { ...s, state: r.state, latencyMs: r.latencyMs ?? null };
    }),
  );
}

/** A mapping's state: closed as recorded, else active while its owner process lives, else stale. */
export function mappingState(m: MappingRecord): MappingState {
  if (m.status === 'closed') return 'closed';
  return isProcessAlive(m.pid) ? 'active' : 'stale';
}

/** `p2prc --view-rpm`: reverse_proxy_mapping.json, each entry with its state. */
export async function viewMappings(configDir: string): Promise<MappingView[]> {
  const mappings = await new RecordStore(configDir).readMappings();
  return mappings.map((m) => ({ ...m, state: mappingState(m) }));
}

/** `--view-rpm --prune`: removes closed and stale entries (under the lock); returns how many went. */
export async function pruneMappings(configDir: string): Promise<number> {
  return new RecordStore(configDir).removeMappings((m) => mappingState(m) !== 'active');
}

/** `--repair`: moves a corrupt record file aside (never deletes it); returns where it went, or undefined when it was fine. */
export async function repairRecords(configDir: string, which: 'servers' | 'mappings'): Promise<string | undefined> {
  return new RecordStore(configDir).repair(which);
}
