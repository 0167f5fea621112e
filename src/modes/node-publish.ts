import { randomBytes } from 'node:crypto';
import { P2prcError } from '../errors.js';
import type { PublishedTunnel } from '../protocol/address.js';
import type { TunnelSpec } from '../client/options.js';
import type { NodeServer } from '../node/node-server.js';
import { RecordStore, recordWriteWarning, type MappingRecord } from '../store/index.js';
import type { ExposeSpec, HostPort } from '../protocol/parse-address.js';
import type { Publisher } from './publishers.js';
import type { AdminFlags, RunningAdmin } from '../admin/attach.js';
import type { NodeServiceSpec, OfferedService } from './node-services.js';

// What both ways of running the node service (a named host, or auto with failover) share: the
// options, starting a publisher so that a failure or a signal stops what was started, and the records.
export interface NodeServiceOptions {
  configDir: string;
  /** The host, or "auto" to pick from reverse_proxy_server.json and fail over. */
  proxy: HostPort | 'auto';
  failoverMs?: number;
  bootstrap?: string[];
  exchangeIntervalMs?: number;
  /** Host and user name in the node server's /ip_table and /server_info (off: empty strings). */
  shareIdentity?: boolean;
  staleMs?: number;
  token?: string | undefined;
  fingerprint?: string | undefined;
  tls?: boolean;
  engine?: 'native' | 'frp' | 'auto';
  /** Speak frp's own protocol natively to a stock frps (no frp binary). */
  protocol?: 'p2prc' | 'frp';
  tcpMux?: boolean;
  frpBinDir?: string | undefined;
  /** Local node server port; without it the port is negotiated to be free on both sides. */
  port?: number | undefined;
  remotePort?: number | 'any';
  /**
   * Publish the node server (its /server_info shows this machine's platform, CPU, RAM and disk). Default
   * true; false keeps it on `bind` only, and publishes the `expose` tunnels (and the UDP server) alone.
   */
  publishNode?: boolean;
  expose?: ExposeSpec[];
  /** Services by ID offered in the same run (native engine and a named host only). */
  services?: NodeServiceSpec[];
  /** Start the node's UDP server on this port (0 = any) and publish it too. */
  udpPort?: number | undefined;
  /** Address the node server (and its UDP server) listen on. Default 127.0.0.1: visitors arrive through the tunnel. */
  bind?: string | undefined;
  name?: string;
  exitOnLoginFailure?: boolean;
  /** Host certificates the operator confirms (--trust), kept in secrets.json: auto prefers them among hosts peers told us of. */
  trust?: string[] | undefined;
  /** With auto: use the token a peer advertises for an open host (--accept-peer-tokens). */
  acceptPeerTokens?: boolean | undefined;
  maxRetries?: number;
  heartbeatMs?: number;
  /** Aborting it while the first connection is being made stops everything started; the call then rejects with E_CLOSED. */
  signal?: AbortSignal;
  /** Status lines (reconnects, engine choice, frp events) as they happen, from before the first login. */
  onStatus?: (line: string) => void;
  onLog?: (line: string) => void;
  /** This client's admin server (its own tunnels), guarded by the host's token. */
  admin?: AdminFlags;
}

export interface NodeService {
  engine: 'native' | 'frp';
  publisher: Publisher;
  published: PublishedTunnel[];
  /** The services by ID offered with the tunnels, with their secrets. */
  services?: OfferedService[];
  node: NodeServer;
  admin?: RunningAdmin | undefined;
  close(): Promise<void>;
}

/** The running service; closing stops publishing first, then what `after` stops (discovery, local servers, records). */
export function running(
  engine: NodeService['engine'],
  publisher: Publisher,
  published: PublishedTunnel[],
  node: NodeServer,
  after: () => Promise<unknown>,
  admin?: RunningAdmin,
): NodeService {
  return {
    engine,
    publisher,
    published,
    node,
    admin,
    async close() {
      await admin?.close();
      await publisher.close();
      await after();
    },
  };
}

/** Starts publishing; on failure the publisher and whatever the caller started locally are stopped. */
export async function startPublisher(
  pub: Publisher,
  o: Pick<NodeServiceOptions, 'onStatus' | 'signal'>,
  cleanup: () => Promise<unknown>,
): Promise<PublishedTunnel[]> {
  if (o.onStatus) pub.on('status', o.onStatus);
  // Ctrl-C during the first attempts: closing the publisher ends its retry loop and start() rejects.
  const abort = () => void pub.close();
  if (o.signal?.aborted) abort();
  o.signal?.addEventListener('abort', abort, { once: true });
  try {
    return await stopOnFailure(pub.start(), async () => (await pub.close(), await cleanup()));
  } catch (err) {
    throw o.signal?.aborted ? new P2prcError('E_CLOSED', 'stopped before the first connection', { cause: err }) : err;
  } finally {
    o.signal?.removeEventListener('abort', abort);
  }
}

/** Awaits `work`; when it fails, runs `stop` (what was started before it) and rethrows. */
export async function stopOnFailure<T>(work: Promise<T>, stop: () => Promise<unknown>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Where the node server listens (`bind`, loopback by default: published through a proxy, it needs no
 * other address) and where the tunnel reaches it: the bound address, or loopback for a wildcard.
 */
export function nodeAddress(o: Pick<NodeServiceOptions, 'bind'>): { bind: string; localHost: string } {
  const bind = o.bind ?? '127.0.0.1';
  return { bind, localHost: bind === '0.0.0.0' || bind === '' ? '127.0.0.1' : bind === '::' ? '::1' : bind };
}

/** An --expose tunnel's name: the one given (`web=...`), else one derived from its kind and port. */
export function exposeName(e: ExposeSpec): string {
  return e.name ?? `expose-${e.protocol === 'tcp' ? '' : `${e.protocol}-`}${e.localPort}`;
}

/**
 * A name given twice, or derived twice (one local port under two domains), is E_USAGE naming it;
 * `node` and `node-udp` are the node server's own tunnels. Checked before anything starts.
 */
export function checkExposeNames(expose: ExposeSpec[] = [], services: NodeServiceSpec[] = []): void {
  const seen = new Set<string>();
  for (const e of [...expose, ...services]) {
    const name = 'id' in e ? e.name : exposeName(e);
    if (name === 'node' || name === 'node-udp')
      throw new P2prcError('E_USAGE', `tunnel name "${name}" is the node server's own; choose another`);
    if (seen.has(name))
      throw new P2prcError(
        'E_USAGE',
        `tunnel name "${name}" is used twice${e.name !== undefined ? '' : ' (name each with --expose <name>=<spec>)'}`,
      );
    seen.add(name);
  }
}

/** The --expose services as tunnels, named so that the mapping file tells them apart. */
export function exposeTunnels(expose: ExposeSpec[] = []): TunnelSpec[] {
  checkExposeNames(expose);
  return expose.map((e) => ({
    name: exposeName(e),
    protocol: e.protocol,
    localPort: e.localPort,
    remotePort: e.remotePort,
    ...(e.domain ? { domain: e.domain } : {}),
  }));
}

/** Writes the tunnels to reverse_proxy_mapping.json and the host to reverse_proxy_server.json. */
export async function recordTunnels(
  o: NodeServiceOptions & { proxy: HostPort },
  key: string,
  engine: 'native' | 'frp' | 'frp-wire',
  tls: boolean,
  pub: Publisher,
  published: PublishedTunnel[],
  proxy: () => HostPort = () => o.proxy,
) {
  const store = new RecordStore(o.configDir);
  const ids = new Map(published.map((t) => [t.name, `${process.pid}-${randomBytes(4).toString('hex')}-${t.name}`]));
  const createdAt = new Date().toISOString();
  const record = (t: PublishedTunnel): MappingRecord => ({
    id: ids.get(t.name)!,
    name: t.name,
    kind: 'tunnel',
    protocol: t.protocol,
    engine,
    localHost: t.localHost,
    localPort: t.localPort,
    publicHost: t.publicHost,
    publicPort: t.remotePort,
    proxyHost: proxy().host,
    proxyControlPort: proxy().port,
    pid: process.pid,
    createdAt,
    updatedAt: new Date().toISOString(),
    status: 'active',
    reconnectingSince: undefined,
  });
  for (const t of published) await store.upsertMapping(record(t));
  const now = new Date().toISOString();
  await store.upsertServer({
    id: key,
    address: o.proxy.host,
    controlPort: o.proxy.port,
    fingerprint: pub.fingerprint ?? null,
    tls: engine === 'native' ? tls : false,
    version: null,
    engine: engine === 'native' ? 'native' : 'frp',
    source: 'local',
    firstSeen: now,
    lastSeen: now,
  });
  // Lost and republished (reconnect or failover) as the link changes: the tunnels keep working, so a
  // failed write is a warning line. One queue, so "reconnecting" never lands after the "active" that followed it.
  let writes = Promise.resolve();
  const later = (name: string, write: () => Promise<unknown>) => {
    writes = writes.then(write).then(
      () => undefined,
      (err: unknown) => o.onStatus?.(`warning: ${recordWriteWarning(`tunnel ${name}`, store.mappingsPath, err)}`),
    );
  };
  pub.on('reconnecting', (since) => {
    for (const [name, id] of ids)
      later(name, () =>
        store.updateMapping(id, { reconnectingSince: since.toISOString(), updatedAt: since.toISOString() }),
      );
  });
  pub.on('published', (list) => {
    for (const t of list) later(t.name, () => store.upsertMapping(record(t)));
  });
  return {
    async closeAll() {
      await writes;
      const closedAt = new Date().toISOString();
      for (const id of ids.values())
        await store.updateMapping(id, {
          status: 'closed',
          closedAt,
          updatedAt: closedAt,
          reconnectingSince: undefined,
        });
    },
  };
}
