import type { ClientView, TunnelView } from '../admin/model.js';
import { RecordStore, isProcessAlive, type MappingRecord, type ServerRecord } from '../store/index.js';
import { adminGet, findAdminEndpoints, type AdminEndpoint } from '../admin/endpoint.js';

/** `--view-clients`: live from a running host's admin API, else what the records know. */
export type ClientsView =
  | { source: 'api'; url: string; pid: number; clients: ClientView[]; tunnels: TunnelView[] }
  | { source: 'records'; reason: string; hosts: ServerRecord[]; tunnels: MappingRecord[] };

export async function viewClients(configDir: string): Promise<ClientsView> {
  const endpoints = await findAdminEndpoints(configDir, 'host');
  const errors: string[] = [];
  for (const e of endpoints) {
    try {
      const [c, t] = await Promise.all([
        adminGet<{ clients: ClientView[] }>(e, '/api/clients'),
        adminGet<{ tunnels: TunnelView[] }>(e, '/api/tunnels'),
      ]);
      return { source: 'api', url: e.url, pid: e.pid, clients: c.clients, tunnels: t.tunnels };
    } catch (err) {
      errors.push(`${e.url}: ${(err as Error).message}`);
    }
  }
  const store = new RecordStore(configDir);
  const hosts = (await store.readServers()).filter(
    (s) => s.source === 'local' && s.pid !== undefined && isProcessAlive(s.pid),
  );
  // Tunnels this machine's host recorded itself (stock frpc clients), still active.
  const tunnels = (await store.readMappings()).filter(
    (m) => m.engine === 'frp-wire' && m.status === 'active' && isProcessAlive(m.pid),
  );
  const reason =
    errors.length > 0
      ? `admin API not answering (${errors.join('; ')})`
      : 'no host with --admin-port is running with this config directory';
  return { source: 'records', reason, hosts, tunnels };
}

/** `--view-rpm` with a client's admin API up: its tunnels with live counts, per client process. */
export interface LiveTunnels {
  tunnels: Array<TunnelView & { pid: number }>;
  errors: string[];
}

export async function viewLiveTunnels(configDir: string): Promise<LiveTunnels> {
  const endpoints = await findAdminEndpoints(configDir, 'client');
  const out: LiveTunnels = { tunnels: [], errors: [] };
  const results = await Promise.allSettled(
    endpoints.map(async (e: AdminEndpoint) => ({ e, r: await adminGet<{ tunnels: TunnelView[] }>(e, '/api/tunnels') })),
  );
  results.forEach((res, i) => {
    if (res.status === 'fulfilled')
      out.tunnels.push(...res.value.r.tunnels.map((t) => ({ ...t, pid: res.value.e.pid })));
    else out.errors.push(`${endpoints[i]!.url}: ${(res.reason as Error).message}`);
  });
  return out;
}
