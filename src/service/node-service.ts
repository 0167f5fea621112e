import { readFile } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { P2prcError } from '../errors.js';
import { formatAddress, type PublishedTunnel } from '../protocol/address.js';
import type { TunnelSpec } from '../client/options.js';
import { NodeServer } from '../node/server.js';
import { selfEntry } from '../node/iptable.js';
import { NodeUdpServer } from '../node/udp-server.js';
import { RecordStore, openConfig, recordWriteWarning, type MappingRecord } from '../store/index.js';
import { findFrp } from '../frp/binary.js';
import { FrpPublisher } from '../frp/publisher.js';
import { FrpWirePublisher } from '../frp-wire/client/publisher.js';
import { VERSION } from '../version.js';
import type { ExposeSpec, HostPort } from './address.js';
import { NativePublisher, detectEngine, type Publisher } from './publishers.js';
import { FailoverPublisher } from './failover.js';
import { rankHosts } from './choose.js';
import { startDiscovery } from './discovery.js';
import { hostTokenPath } from './host-engines.js';
import type { IpTableExchange } from '../node/exchange.js';
import { startClientAdmin, type AdminFlags, type RunningAdmin } from './admin.js';

export interface NodeServiceOptions {
  configDir: string;
  /** The host, or "auto" to pick from reverse_proxy_server.json and fail over. */
  proxy: HostPort | 'auto';
  failoverMs?: number;
  bootstrap?: string[];
  exchangeIntervalMs?: number;
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
  expose?: ExposeSpec[];
  /** Start the node's UDP server on this port (0 = any) and publish it too. */
  udpPort?: number | undefined;
  name?: string;
  exitOnLoginFailure?: boolean;
  maxRetries?: number;
  heartbeatMs?: number;
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
  node: NodeServer;
  admin: RunningAdmin | undefined;
  close(): Promise<void>;
}

/** The running service; closing stops publishing first, then what `after` stops (discovery, local servers, records). */
function running(engine: NodeService['engine'], publisher: Publisher, published: PublishedTunnel[], node: NodeServer, after: () => Promise<unknown>, admin?: RunningAdmin): NodeService {
  return {
    engine, publisher, published, node, admin,
    async close() {
      await admin?.close();
      await publisher.close();
      await after();
    },
  };
}

/** Starts publishing; on failure the publisher and whatever the caller started locally are stopped. */
async function startPublisher(pub: Publisher, onStatus: ((line: string) => void) | undefined, cleanup: () => Promise<unknown>): Promise<PublishedTunnel[]> {
  if (onStatus) pub.on('status', onStatus);
  return stopOnFailure(pub.start(), async () => (await pub.close(), await cleanup()));
}

/** Awaits `work`; when it fails, runs `stop` (what was started before it) and rethrows. */
async function stopOnFailure<T>(work: Promise<T>, stop: () => Promise<unknown>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    await stop();
    throw err;
  }
}

export function isLocalAddress(host: string): boolean {
  if (host === 'localhost' || host.startsWith('127.') || host === '::1') return true;
  return Object.values(os.networkInterfaces()).some((list) => list?.some((a) => a.address === host));
}

/** Token for a host: explicit, per-host config, global config, or the host's own file when it runs here. */
export async function resolveToken(o: { token?: string | undefined; configDir: string }, key: string): Promise<string> {
  if (o.token) return o.token;
  const config = openConfig(o.configDir);
  const perHost = (config.get('hostTokens') as Record<string, string> | undefined)?.[key];
  if (perHost) return perHost;
  const global = config.get('token') as string | undefined;
  if (global) return global;
  try {
    const local = (await readFile(hostTokenPath(o.configDir), 'utf8')).trim();
    if (local) return local;
  } catch {
    // no host on this machine
  }
  throw new P2prcError('E_USAGE', `no token for ${key}: pass --token (or set P2PRC_TOKEN); the host prints it when it starts`);
}

/**
 * `p2prc -s --connect-reverse-proxy`: starts the P2PRC node server (and UDP server) and publishes
 * them, plus any `expose` services, through a host with the chosen engine (`proxy: 'auto'` picks the
 * best host known in reverse_proxy_server.json and fails over). Resolves once the host confirmed all
 * tunnels and they are recorded in reverse_proxy_mapping.json; on any failure everything it started is
 * stopped. A record write that fails later (after a reconnect) is reported as a `warning:` status line.
 */
export async function runNodeService(o: NodeServiceOptions): Promise<NodeService> {
  if (o.proxy === 'auto') return runAuto(o);
  return runFixed({ ...o, proxy: o.proxy });
}

/** --engine and --protocol as given, or (auto) as detected at the host, with the TLS setting that works. */
async function chooseEngine(o: NodeServiceOptions & { proxy: HostPort }): Promise<{ engine: 'native' | 'frp'; tls: boolean; protocol: 'p2prc' | 'frp' }> {
  let tls = o.tls ?? true;
  let engine: 'native' | 'frp' = o.engine === 'frp' ? 'frp' : 'native';
  if (o.engine === 'auto') {
    const choice = await detectEngine(o.proxy.host, o.proxy.port, tls);
    engine = choice.engine;
    if (choice.engine === 'native') tls = choice.tls;
    o.onStatus?.(`engine: ${engine === 'frp' ? 'native frp-wire client' : engine} (${choice.reason})`);
  }
  // A stock frps found by auto is spoken to natively (no frp binary needed).
  return { engine, tls, protocol: o.protocol === 'frp' || (o.engine === 'auto' && engine === 'frp') ? 'frp' : 'p2prc' };
}

/** The --expose services as tunnels, named so that the mapping file tells them apart. */
function exposeTunnels(expose: ExposeSpec[] = []): TunnelSpec[] {
  return expose.map((e) => ({
    name: `expose-${e.protocol === 'tcp' ? '' : `${e.protocol}-`}${e.localPort}`, protocol: e.protocol, localPort: e.localPort, remotePort: e.remotePort, ...(e.domain ? { domain: e.domain } : {}),
  }));
}

async function runFixed(o: NodeServiceOptions & { proxy: HostPort }): Promise<NodeService> {
  const key = formatAddress(o.proxy.host, o.proxy.port);
  const token = await resolveToken(o, key);
  const config = openConfig(o.configDir);
  const pins = (config.get('fingerprints') as Record<string, string> | undefined) ?? {};
  const { engine, tls, protocol } = await chooseEngine(o);
  let publisher: Publisher | undefined;
  const find = (name: string) => publisher?.published().find((t) => t.name === name);
  const node: NodeServer = new NodeServer(
    () => {
      const pub = find('node');
      const pubUdp = find('node-udp');
      return selfEntry({
        serverPort: node.port,
        ...(pubUdp ? { udpServerPort: pubUdp.remotePort } : udp ? { udpServerPort: udp.port } : {}),
        proxied: pub ? { host: pub.publicHost, port: pub.remotePort, engine: engine === 'frp' || protocol === 'frp' ? 'frp' : 'native' } : undefined,
      });
    },
    () => ({ name: 'p2prc', version: VERSION, role: 'node', publicAddress: find('node')?.publicAddress }),
    () => exchange?.peers() ?? [],
    { learn: (entries, source) => exchange?.ingest({ ip_address: entries }, source) },
  );
  let exchange: IpTableExchange | undefined;
  let udp: NodeUdpServer | undefined;
  const stopLocal = () => Promise.all([node.close(), udp?.close()]);
  const listen = async (port: number) => void (await node.listen(port));
  const hostIsLocal = isLocalAddress(o.proxy.host);
  const tunnels: TunnelSpec[] = [];
  try {
    // A host on this very machine holds every port it offers, so the same number can never be free
    // on both sides: then the node takes any free local port and the public one is the host's pick.
    const localPort = o.port ?? (hostIsLocal && engine === 'native' && protocol !== 'frp' ? 0 : undefined);
    if (localPort !== undefined) await listen(localPort);
    tunnels.push(localPort !== undefined ? { name: 'node', localPort: node.port, remotePort: o.remotePort ?? 'any' } : { name: 'node', listen, remotePort: o.remotePort ?? 'any' });
    if (o.udpPort !== undefined) {
      udp = new NodeUdpServer();
      await udp.listen(o.udpPort);
      tunnels.push({ name: 'node-udp', protocol: 'udp', localPort: udp.port, remotePort: 'any' });
    }
    tunnels.push(...exposeTunnels(o.expose));
    const frpTunnels = () => tunnels.map((t) => {
      if (t.protocol === 'http') throw new P2prcError('E_NOT_AVAILABLE', '--expose http:... needs the native engine and protocol (a p2prc host with --vhost-http-port)');
      return { name: t.name, protocol: t.protocol ?? 'tcp', remotePort: t.remotePort ?? 'any', ...(t.listen ? { listen: t.listen } : { localPort: t.localPort! }) };
    });
    publisher = protocol === 'frp'
      ? new FrpWirePublisher({ host: o.proxy.host, port: o.proxy.port, token, tcpMux: o.tcpMux ?? true, hostIsLocal, tunnels: frpTunnels() })
      : engine === 'frp'
      ? new FrpPublisher({
        binary: await findFrp('frpc', { binDir: o.frpBinDir }), serverAddr: o.proxy.host, serverPort: o.proxy.port, token, tls, hostIsLocal,
        tunnels: frpTunnels(),
        logFile: path.join(o.configDir, 'frpc.log'), onLog: o.onLog, waitForServer: !o.exitOnLoginFailure,
      })
      : new NativePublisher({
        host: o.proxy.host, port: o.proxy.port, token, tls, fingerprint: o.fingerprint ?? pins[key], tunnels, clientId: randomBytes(12).toString('hex'),
        ...(o.name ? { name: o.name } : {}), ...(o.heartbeatMs ? { heartbeatMs: o.heartbeatMs } : {}),
        exitOnLoginFailure: o.exitOnLoginFailure ?? false, maxRetries: o.maxRetries ?? Number.POSITIVE_INFINITY,
      });
  } catch (err) {
    await stopLocal();
    throw err;
  }
  const pub = publisher;
  const published = await startPublisher(pub, o.onStatus, stopLocal);
  if (pub.fingerprint && !pins[key]) config.set('fingerprints', { ...pins, [key]: pub.fingerprint });
  const recorder = await stopOnFailure(recordTunnels(o, key, protocol === 'frp' ? 'frp-wire' : engine, tls, pub, published), async () => (await pub.close(), await stopLocal()));
  exchange = startDiscovery({ configDir: o.configDir, self: () => node.table().ip_address[0]!, bootstrap: o.bootstrap ?? [], intervalMs: o.exchangeIntervalMs, staleMs: o.staleMs, log: o.onLog });
  const ex = exchange;
  const admin = await stopOnFailure(
    startClientAdmin(o, pub, token, protocol === 'frp' ? 'frp-wire' : engine, () => key, ex),
    async () => (await pub.close(), await ex.stop(), await stopLocal(), await recorder.closeAll()),
  );
  return running(engine, pub, published, node, async () => (await ex.stop(), await stopLocal(), await recorder.closeAll()), admin);
}

/** Writes the tunnels to reverse_proxy_mapping.json and the host to reverse_proxy_server.json. */
async function recordTunnels(
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
    id: ids.get(t.name)!, name: t.name, kind: 'tunnel', protocol: t.protocol, engine, localHost: t.localHost, localPort: t.localPort,
    publicHost: t.publicHost, publicPort: t.remotePort, proxyHost: proxy().host, proxyControlPort: proxy().port, pid: process.pid,
    createdAt, updatedAt: new Date().toISOString(), status: 'active',
  });
  for (const t of published) await store.upsertMapping(record(t));
  const now = new Date().toISOString();
  await store.upsertServer({
    id: key, address: o.proxy.host, controlPort: o.proxy.port, fingerprint: pub.fingerprint ?? null, tls: engine === 'native' ? tls : false,
    version: null, engine: engine === 'native' ? 'native' : 'frp', source: 'local', firstSeen: now, lastSeen: now,
  });
  // Republished after a reconnect or failover: the tunnels keep working, so a failed write is a warning line.
  pub.on('published', (list) => {
    for (const t of list) void store.upsertMapping(record(t)).catch((err: unknown) => o.onStatus?.(`warning: ${recordWriteWarning(`tunnel ${t.name}`, store.mappingsPath, err)}`));
  });
  return {
    async closeAll() {
      const closedAt = new Date().toISOString();
      for (const id of ids.values()) await store.updateMapping(id, { status: 'closed', closedAt, updatedAt: closedAt });
    },
  };
}

/** --connect-reverse-proxy auto: the node server on a local port, published through the best known host, with failover. */
async function runAuto(o: NodeServiceOptions): Promise<NodeService> {
  let publisher: FailoverPublisher | undefined;
  const find = (name: string) => publisher?.published().find((t) => t.name === name);
  let exchange: IpTableExchange | undefined;
  const node: NodeServer = new NodeServer(
    () => {
      const pub = find('node');
      return selfEntry({ serverPort: node.port, proxied: pub ? { host: pub.publicHost, port: pub.remotePort, engine: 'native' } : undefined });
    },
    () => ({ name: 'p2prc', version: VERSION, role: 'node', publicAddress: find('node')?.publicAddress }),
    () => exchange?.peers() ?? [],
    { learn: (entries, source) => exchange?.ingest({ ip_address: entries }, source) },
  );
  await node.listen(o.port ?? 0);
  const tunnels: TunnelSpec[] = [{ name: 'node', localPort: node.port, remotePort: o.remotePort ?? 'any' }, ...exposeTunnels(o.expose)];
  exchange = startDiscovery({ configDir: o.configDir, self: () => node.table().ip_address[0]!, bootstrap: o.bootstrap ?? [], intervalMs: o.exchangeIntervalMs, staleMs: o.staleMs, log: o.onLog });
  const clientId = randomBytes(12).toString('hex');
  publisher = new FailoverPublisher({
    configDir: o.configDir,
    failoverMs: o.failoverMs ?? 30_000,
    rank: (exclude) => rankHosts(o.configDir, o.token, 1_500, exclude),
    make: (c) => new NativePublisher({
      host: c.host, port: c.port, token: c.token, tls: c.tls, fingerprint: c.fingerprint, tunnels, clientId,
      ...(o.name ? { name: o.name } : {}), ...(o.heartbeatMs ? { heartbeatMs: o.heartbeatMs } : {}), exitOnLoginFailure: true,
    }),
  });
  const pub = publisher;
  const ex = exchange;
  const published = await startPublisher(pub, o.onStatus, async () => (await ex.stop(), await node.close()));
  const proxy = () => pub.proxy() ?? { host: '', port: 0 };
  const recorder = await stopOnFailure(
    recordTunnels({ ...o, proxy: proxy() }, formatAddress(proxy().host, proxy().port), 'native', true, pub, published, proxy),
    async () => (await pub.close(), await ex.stop(), await node.close()),
  );
  const admin = await stopOnFailure(
    startClientAdmin(o, pub, o.token, 'native', () => formatAddress(proxy().host, proxy().port), ex),
    async () => (await pub.close(), await ex.stop(), await node.close(), await recorder.closeAll()),
  );
  return running('native', pub, published, node, async () => (await ex.stop(), await node.close(), await recorder.closeAll()), admin);
}
