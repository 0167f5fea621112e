import { readFile } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { P2prcError } from '../errors.js';
import { ReverseProxyClient, type PublishedTunnel } from '../client/client.js';
import type { TunnelSpec } from '../client/options.js';
import { NodeServer } from '../node/server.js';
import { selfEntry } from '../node/iptable.js';
import { NodeUdpServer } from '../node/udp-server.js';
import { RecordStore, openConfig, type MappingRecord } from '../store/index.js';
import { VERSION } from '../version.js';
import { formatAddress } from '../client/client.js';
import type { ExposeSpec, HostPort } from './address.js';

export interface NodeServiceOptions {
  configDir: string;
  proxy: HostPort;
  token?: string | undefined;
  fingerprint?: string | undefined;
  tls?: boolean;
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
  /** Called as soon as the client exists, before the first login, so callers see every status. */
  onClient?: (client: ReverseProxyClient) => void;
}

export interface NodeService {
  client: ReverseProxyClient;
  published: PublishedTunnel[];
  node: NodeServer;
  close(): Promise<void>;
}

function isLocalAddress(host: string): boolean {
  if (host === 'localhost' || host.startsWith('127.') || host === '::1') return true;
  return Object.values(os.networkInterfaces()).some((list) => list?.some((a) => a.address === host));
}

/** Token for a host: explicit, per-host config, global config, or the host's own file when it runs here. */
async function resolveToken(o: NodeServiceOptions, key: string): Promise<string> {
  if (o.token) return o.token;
  const config = openConfig(o.configDir);
  const perHost = (config.get('hostTokens') as Record<string, string> | undefined)?.[key];
  if (perHost) return perHost;
  const global = config.get('token') as string | undefined;
  if (global) return global;
  try {
    const local = (await readFile(path.join(o.configDir, 'host', 'token.txt'), 'utf8')).trim();
    if (local) return local;
  } catch {
    // no host on this machine
  }
  throw new P2prcError('E_USAGE', `no token for ${key}: pass --token (or set P2PRC_TOKEN); the host prints it when it starts`);
}

/**
 * Starts the P2PRC node server and publishes it (plus any --expose services) through a host,
 * recording every tunnel in reverse_proxy_mapping.json. Resolves once the host confirmed them all.
 */
export async function runNodeService(o: NodeServiceOptions): Promise<NodeService> {
  const key = formatAddress(o.proxy.host, o.proxy.port);
  const token = await resolveToken(o, key);
  const config = openConfig(o.configDir);
  const pins = (config.get('fingerprints') as Record<string, string> | undefined) ?? {};
  const store = new RecordStore(o.configDir);
  let client: ReverseProxyClient | undefined;
  const node: NodeServer = new NodeServer(
    () => {
      const pub = client?.published().find((t) => t.name === 'node');
      const pubUdp = client?.published().find((t) => t.name === 'node-udp');
      return selfEntry({
        serverPort: node.port,
        ...(pubUdp ? { udpServerPort: pubUdp.remotePort } : udp ? { udpServerPort: udp.port } : {}),
        proxied: pub ? { host: pub.publicHost, port: pub.remotePort, engine: 'native' } : undefined,
      });
    },
    () => ({ name: 'p2prc', version: VERSION, role: 'node', publicAddress: client?.published().find((t) => t.name === 'node')?.publicAddress }),
  );
  const listen = async (port: number) => void (await node.listen(port));
  // A host on this very machine holds every port it offers, so the same number can never be free
  // on both sides: then the node takes any free local port and the public one is the host's pick.
  const localPort = o.port ?? (isLocalAddress(o.proxy.host) ? 0 : undefined);
  if (localPort !== undefined) await listen(localPort);
  const nodeTunnel: TunnelSpec = localPort !== undefined ? { name: 'node', localPort: node.port, remotePort: o.remotePort ?? 'any' } : { name: 'node', listen, remotePort: o.remotePort ?? 'any' };
  const tunnels: TunnelSpec[] = [nodeTunnel];
  let udp: NodeUdpServer | undefined;
  if (o.udpPort !== undefined) {
    udp = new NodeUdpServer();
    await udp.listen(o.udpPort).catch(async (err: unknown) => {
      await node.close();
      throw err;
    });
    tunnels.push({ name: 'node-udp', protocol: 'udp', localPort: udp.port, remotePort: 'any' });
  }
  for (const e of o.expose ?? []) {
    tunnels.push({ name: `expose-${e.protocol === 'udp' ? 'udp-' : ''}${e.localPort}`, protocol: e.protocol, localPort: e.localPort, remotePort: e.remotePort });
  }
  client = new ReverseProxyClient({
    host: o.proxy.host,
    port: o.proxy.port,
    token,
    tls: o.tls ?? true,
    fingerprint: o.fingerprint ?? pins[key],
    tunnels,
    clientId: randomBytes(12).toString('hex'),
    ...(o.name ? { name: o.name } : {}),
    ...(o.heartbeatMs ? { heartbeatMs: o.heartbeatMs } : {}),
    exitOnLoginFailure: o.exitOnLoginFailure ?? false,
    maxRetries: o.maxRetries ?? Number.POSITIVE_INFINITY,
  });
  o.onClient?.(client);
  client.start();
  let published: PublishedTunnel[];
  try {
    published = await client.ready;
  } catch (err) {
    await client.close();
    await Promise.all([node.close(), udp?.close()]);
    throw err;
  }
  if (client.fingerprint && !pins[key]) config.set('fingerprints', { ...pins, [key]: client.fingerprint });
  const ids = new Map(published.map((t) => [t.name, `${process.pid}-${randomBytes(4).toString('hex')}-${t.name}`]));
  const record = (t: PublishedTunnel, createdAt: string): MappingRecord => ({
    id: ids.get(t.name)!, name: t.name, kind: 'tunnel', protocol: t.protocol, engine: 'native', localHost: t.localHost, localPort: t.localPort,
    publicHost: t.publicHost, publicPort: t.remotePort, proxyHost: o.proxy.host, proxyControlPort: o.proxy.port, pid: process.pid,
    createdAt, updatedAt: new Date().toISOString(), status: 'active',
  });
  const createdAt = new Date().toISOString();
  for (const t of published) await store.upsertMapping(record(t, createdAt));
  const now = new Date().toISOString();
  await store.upsertServer({
    id: key, address: o.proxy.host, controlPort: o.proxy.port, fingerprint: client.fingerprint ?? null, tls: o.tls ?? true,
    version: null, engine: 'native', source: 'local', firstSeen: now, lastSeen: now,
  });
  client.on('published', (list) => {
    for (const t of list) void store.upsertMapping(record(t, createdAt)).catch(() => undefined);
  });
  return {
    client,
    published,
    node,
    async close() {
      await client!.close();
      await Promise.all([node.close(), udp?.close()]);
      const closedAt = new Date().toISOString();
      for (const id of ids.values()) await store.updateMapping(id, { status: 'closed', closedAt, updatedAt: closedAt });
    },
  };
}
