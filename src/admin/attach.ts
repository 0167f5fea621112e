import os from 'node:os';
import { refusalReason, type AdminSource, type ClientView, type TunnelView } from './model.js';
// Loaded only when an admin server starts: prom-client costs startup time every other command should not pay.
import type { AdminServer } from './admin-server.js';
import type { TunnelTraffic } from '../client/client.js';
import type { ReverseProxyHost } from '../host/host.js';
import { loadHostIdentity } from '../host/identity.js';
import type { IpTableExchange } from '../node/exchange.js';
import { generateSelfSignedCert, fingerprintOfPem } from '../transport/cert.js';
import { removeAdminEndpoint, writeAdminEndpoint } from './endpoint.js';
import type { Publisher } from '../modes/publishers.js';
import { generateSecret } from '../protocol/secret.js';

/** --admin-port and its companions, validated by the AdminServer itself. */
export interface AdminFlags {
  port: number;
  bind?: string | undefined;
  /** HTTPS with the host's certificate (a fresh self-signed one on a client). */
  tls?: boolean;
  insecure?: boolean;
}

export interface RunningAdmin {
  server: AdminServer;
  url: string;
  /** The bearer token every route wants. */
  token: string;
  fingerprint: string | undefined;
  close(): Promise<void>;
}

/** The host's clients and tunnels as the admin API shows them. */
export function hostAdminSource(host: ReverseProxyHost): AdminSource {
  const tunnels = (): TunnelView[] =>
    host.tunnels().map((t) => ({
      name: t.name,
      owner: t.clientName ?? t.clientId,
      publicPort: t.port,
      domain: t.domain,
      target: null,
      protocol: t.protocol,
      engine: t.engine,
      online: t.online,
      visitorsNow: t.activeVisitors,
      visitorsTotal: t.connections,
      bytesIn: t.bytesIn,
      bytesOut: t.bytesOut,
      since: t.createdAt,
    }));
  return {
    role: 'host',
    tunnels,
    clients: (): ClientView[] =>
      host.clients().map((c) => ({
        id: c.clientId,
        name: c.name,
        address: c.remote,
        since: c.connectedAt,
        tunnels: c.tunnels,
        bytesIn: c.bytesIn,
        bytesOut: c.bytesOut,
      })),
    stats: () => host.poolStats(),
  };
}

/** What a client's admin API needs from its publisher; counts exist only for the native engine. */
export interface ClientAdminView {
  name: string;
  hostAddress: () => string;
  published: () => Array<
    Omit<TunnelTraffic, 'visitorsNow' | 'visitorsTotal' | 'bytesIn' | 'bytesOut'> & Partial<TunnelTraffic>
  >;
  connection: () => { sessionId: string; since: Date; poolIdle: number } | undefined;
  engine: 'native' | 'frp-wire' | 'frp';
}

/** A publisher seen by the admin API: live counts from the native engine, the published list from any. */
export function publisherAdminView(
  pub: Publisher,
  name: string,
  hostAddress: () => string,
  engine: ClientAdminView['engine'],
): ClientAdminView {
  const started = new Date();
  return {
    name,
    hostAddress,
    engine,
    published: () => pub.traffic?.() ?? pub.published(),
    // Engines without a session of their own (frp) count as connected since start while they publish.
    connection: () =>
      pub.connection
        ? pub.connection()
        : pub.published().length > 0
          ? { sessionId: 'frp', since: started, poolIdle: 0 }
          : undefined,
  };
}

export function clientAdminSource(v: ClientAdminView): AdminSource {
  const tunnels = (): TunnelView[] =>
    v.published().map((t) => ({
      name: t.name,
      owner: 'self',
      publicPort: t.remotePort,
      domain: t.protocol === 'http' || t.protocol === 'https' ? (t.publicHost ?? null) : null,
      target: `${t.localHost}:${t.localPort}`,
      protocol: t.protocol,
      engine: v.engine,
      online: v.connection() !== undefined,
      visitorsNow: t.visitorsNow ?? 0,
      visitorsTotal: t.visitorsTotal ?? 0,
      bytesIn: t.bytesIn ?? 0,
      bytesOut: t.bytesOut ?? 0,
      since: v.connection()?.since.toISOString() ?? new Date(0).toISOString(),
    }));
  return {
    role: 'client',
    tunnels,
    clients: () => {
      const c = v.connection();
      if (!c) return [];
      const list = tunnels();
      return [
        {
          id: c.sessionId,
          name: v.name,
          address: v.hostAddress(),
          since: c.since.toISOString(),
          tunnels: list.length,
          bytesIn: list.reduce((n, t) => n + t.bytesIn, 0),
          bytesOut: list.reduce((n, t) => n + t.bytesOut, 0),
        },
      ];
    },
    stats: () => ({ pendingHandshakes: 0, dataPoolSize: v.connection()?.poolIdle ?? 0, dataPoolMisses: 0 }),
  };
}

/** Host events become admin events (and the counters they feed). */
export function recordHostEvents(host: ReverseProxyHost, server: AdminServer): void {
  host.on('client', (c) =>
    server.record({ type: 'login', client: c.name, peer: c.remote, message: `client ${c.name} connected` }),
  );
  host.on('client-closed', (c) =>
    server.record({
      type: 'logout',
      client: c.name,
      message: `client ${c.name} disconnected${c.reason ? `: ${c.reason}` : ''}`,
    }),
  );
  host.on('tunnel', (t) =>
    server.record({
      type: 'tunnel-opened',
      tunnel: t.name,
      port: t.port,
      message: `tunnel ${t.name} opened on port ${t.port}`,
    }),
  );
  host.on('tunnel-closed', (t) =>
    server.record({
      type: 'tunnel-closed',
      tunnel: t.name,
      port: t.port,
      message: `tunnel ${t.name} on port ${t.port} closed`,
    }),
  );
  host.on('refused', (r) =>
    server.record({
      type: 'refused',
      reason: refusalReason(r.code),
      peer: r.remote,
      ...(r.client ? { client: r.client } : {}),
      message: `${r.stage}: ${r.code} ${r.message}`,
    }),
  );
}

/** The host's admin server when --admin-port asks for one (native engine): its events recorded from the start. */
export async function startHostAdmin(
  o: { admin?: AdminFlags | undefined; configDir: string; token?: string | undefined },
  host: ReverseProxyHost | undefined,
  stateDir: string,
): Promise<RunningAdmin | undefined> {
  if (!o.admin || !host) return undefined;
  const pems = o.admin.tls ? await loadHostIdentity(stateDir, o.token) : undefined;
  const admin = await startAdmin({
    source: hostAdminSource(host),
    token: host.options.token,
    flags: o.admin,
    configDir: o.configDir,
    pems,
  });
  recordHostEvents(host, admin.server);
  return admin;
}

/** Discovery rounds and the peers they know, for p2prc_discovery_*. */
export function recordDiscovery(exchange: IpTableExchange | undefined, server: AdminServer): void {
  exchange?.on('round', (r) => server.metrics.discoveryRound(r.peers));
}

/**
 * Starts the admin server and leaves a note (admin/<pid>.json, mode 0600) so `--view-clients` and
 * `--view-rpm` on this machine can find it; the note goes when the server does.
 */
export async function startAdmin(o: {
  source: AdminSource;
  token: string;
  flags: AdminFlags;
  configDir: string;
  pems?: { keyPem: string; certPem: string } | undefined;
}): Promise<RunningAdmin> {
  let tls: { key: string; cert: string } | undefined;
  if (o.flags.tls) {
    const pems = o.pems ?? generateSelfSignedCert('p2prc-admin');
    tls = { key: pems.keyPem, cert: pems.certPem };
  }
  const { AdminServer } = await import('./admin-server.js');
  const server = new AdminServer({
    source: o.source,
    token: o.token,
    port: o.flags.port,
    bind: o.flags.bind,
    tls,
    insecure: o.flags.insecure,
  });
  await server.listen();
  const fingerprint = tls ? fingerprintOfPem(tls.cert) : undefined;
  try {
    await writeAdminEndpoint(o.configDir, {
      role: o.source.role,
      url: server.url,
      pid: process.pid,
      token: o.token,
      fingerprint: fingerprint ?? null,
    });
  } catch (err) {
    await server.close();
    throw err;
  }
  return {
    server,
    url: server.url,
    token: o.token,
    fingerprint,
    async close() {
      await removeAdminEndpoint(o.configDir);
      await server.close();
    },
  };
}

/**
 * Starts the client's admin server over a running publisher; undefined without --admin-port. Its token
 * is the host's; with `auto` and no --token there is none, so one is generated (printed by the CLI).
 */
export async function startClientAdmin(
  o: { admin?: AdminFlags | undefined; name?: string | undefined; configDir: string },
  pub: Publisher,
  hostToken: string | undefined,
  engine: 'native' | 'frp-wire' | 'frp',
  hostAddress: () => string,
  exchange: IpTableExchange,
): Promise<RunningAdmin | undefined> {
  if (!o.admin) return undefined;
  const view = publisherAdminView(pub, o.name ?? os.hostname(), hostAddress, engine);
  const token = hostToken ?? generateSecret();
  const admin = await startAdmin({ source: clientAdminSource(view), token, flags: o.admin, configDir: o.configDir });
  recordDiscovery(exchange, admin.server);
  return admin;
}
