import path from 'node:path';
import os from 'node:os';
import { P2prcError, isP2prcError } from '../errors.js';
import { formatAddress } from '../protocol/address.js';
import type { TunnelSpec } from '../client/options.js';
import { NodeServer } from '../node/node-server.js';
import { selfEntry } from '../node/iptable.js';
import { NodeUdpServer } from '../node/udp-server.js';
import { RecordStore, claimClientId, readSecrets } from '../store/index.js';
import { findFrp } from '../frp/binary.js';
import { FrpPublisher } from '../frp/publisher.js';
import { FrpWirePublisher } from '../frp-wire/client/publisher.js';
import { VERSION } from '../version.js';
import { normalizeFingerprint, parseFingerprint, storedPin } from '../transport/cert.js';
import type { HostPort } from '../protocol/parse-address.js';
import { NativePublisher, detectEngine, type Publisher } from './publishers.js';
import { runAuto } from './node-auto.js';
import { askLentPort } from './lent-port.js';
import { startClientAdmin } from '../admin/attach.js';
import { checkLocalPorts, explainPinMismatch, rememberHost } from './trust.js';
import {
  checkExposeNames,
  exposeName,
  exposeTunnels,
  nodeAddress,
  recordTunnels,
  running,
  startPublisher,
  stopOnFailure,
  type NodeService,
  type NodeServiceOptions,
} from './node-publish.js';
import { localHostToken, rememberTrust } from './choose-host.js';
import { startDiscovery } from '../node/discovery.js';
import { checkServicesEngine, recordServices, resolveServices, serviceSpecs } from './node-services.js';
import type { IpTableExchange } from '../node/exchange.js';

export type { NodeService, NodeServiceOptions } from './node-publish.js';

export function isLocalAddress(host: string): boolean {
  if (host === 'localhost' || host.startsWith('127.') || host === '::1') return true;
  return Object.values(os.networkInterfaces()).some((list) => list?.some((a) => a.address === host));
}

/** Token for a host: explicit, per-host secret, global secret, or the host's own file when it runs here. */
export async function resolveToken(o: { token?: string | undefined; configDir: string }, key: string): Promise<string> {
  if (o.token) return o.token;
  const secrets = await readSecrets(o.configDir);
  const token = secrets.hostTokens?.[key] || secrets.token || (await localHostToken(o.configDir));
  if (token) return token;
  throw new P2prcError(
    'E_USAGE',
    `no token for ${key}: pass --token (or set P2PRC_TOKEN); the host prints it when it starts`,
  );
}

/**
 * With no token known for the address, it may be a P2PRC node server that lends a token-less frp
 * port (P2PRC's Go nodes, and p2prc hosts started with `--open`): GET /FRPPort answers a bare port
 * number, and a node behind NAT publishes there with no token, as Go nodes escape NAT. Anything else
 * keeps the "no token" error: a token-less frps is reached only this way, never by an empty --token.
 */
async function tokenOrLentPort(
  o: NodeServiceOptions & { proxy: HostPort },
  key: string,
): Promise<{ token: string; lentPort?: number }> {
  try {
    return { token: await resolveToken(o, key) };
  } catch (err) {
    if (!isP2prcError(err) || err.code !== 'E_USAGE') throw err;
    const lentPort = await askLentPort(o.proxy);
    if (lentPort === undefined) throw err;
    o.onStatus?.(`${key} is a P2PRC node lending frp port ${lentPort}: publishing there without a token`);
    return { token: '', lentPort };
  }
}

/**
 * `p2prc -s --connect-reverse-proxy`: starts the P2PRC node server (and UDP server) and publishes
 * them, plus any `expose` services, through a host with the chosen engine (`proxy: 'auto'` picks the
 * best host known in reverse_proxy_server.json and fails over). Resolves once the host confirmed all
 * tunnels and they are recorded in reverse_proxy_mapping.json; on any failure everything it started is
 * stopped. A record write that fails later (after a reconnect) is reported as a `warning:` status line.
 */
export async function runNodeService(o: NodeServiceOptions): Promise<NodeService> {
  o = { ...o, fingerprint: parseFingerprint(o.fingerprint, '--fingerprint') };
  checkExposeNames(o.expose, o.services);
  const udpPublished = o.udpPort !== undefined && o.proxy !== 'auto';
  if (o.publishNode === false && !o.expose?.length && !udpPublished && !o.services?.length)
    throw new P2prcError('E_USAGE', '--no-publish-node leaves nothing to publish: add --expose (or --udp-port)');
  await rememberTrust(o.configDir, o.trust ?? []);
  if (o.proxy === 'auto') {
    if (o.services?.length)
      throw new P2prcError('E_USAGE', 'services by ID need a named host, not automatic choice (auto)');
    return runAuto(o);
  }
  return runFixed({ ...o, proxy: o.proxy });
}

/** --engine and --protocol as given, or (auto) as detected at the host, with the TLS setting that works. */
async function chooseEngine(
  o: NodeServiceOptions & { proxy: HostPort },
  pin: string | undefined,
): Promise<{ engine: 'native' | 'frp'; tls: boolean; protocol: 'p2prc' | 'frp' }> {
  let tls = o.tls ?? true;
  let engine: 'native' | 'frp' = o.engine === 'frp' ? 'frp' : 'native';
  if (o.engine === 'auto') {
    const choice = await detectEngine(o.proxy.host, o.proxy.port, tls, 3_000, pin);
    engine = choice.engine;
    tls = choice.tls;
    o.onStatus?.(`engine: ${engine === 'frp' ? 'native frp-wire client' : engine} (${choice.reason})`);
  }
  // A stock frps found by auto is spoken to natively (no frp binary needed).
  return { engine, tls, protocol: o.protocol === 'frp' || (o.engine === 'auto' && engine === 'frp') ? 'frp' : 'p2prc' };
}

/**
 * The public port each tunnel last had through this frp host ("tcp/node" → 6001), from the mapping
 * records: asked for again first, as a native client gets its ports back through its identity.
 */
async function previousFrpPorts(configDir: string, proxy: HostPort): Promise<Map<string, number>> {
  const held = new Map<string, number>();
  const mine = (await new RecordStore(configDir).readMappings())
    .filter((m) => m.kind === 'tunnel' && m.engine !== 'native' && m.publicPort !== null)
    .filter((m) => m.proxyHost === proxy.host && m.proxyControlPort === proxy.port)
    .sort((a, b) => a.updatedAt.localeCompare(b.updatedAt));
  for (const m of mine) held.set(`${m.protocol}/${m.name}`, m.publicPort!);
  return held;
}

async function runFixed(given: NodeServiceOptions & { proxy: HostPort }): Promise<NodeService> {
  // Records first: unusable record files must stop us before the host has published anything.
  await new RecordStore(given.configDir).prepare();
  const { token, lentPort } = await tokenOrLentPort(given, formatAddress(given.proxy.host, given.proxy.port));
  const o: typeof given =
    lentPort === undefined
      ? given
      : { ...given, proxy: { host: given.proxy.host, port: lentPort }, protocol: 'frp', engine: 'native' };
  const key = formatAddress(o.proxy.host, o.proxy.port);
  const pins = (await readSecrets(o.configDir)).fingerprints ?? {};
  const { engine, tls, protocol } = await chooseEngine(o, o.fingerprint ?? pins[key]);
  checkServicesEngine(o.services, engine, protocol);
  const offered = await resolveServices(o.configDir, key, o.services ?? []);
  let publisher: Publisher | undefined;
  const find = (name: string) => publisher?.published().find((t) => t.name === name);
  const node: NodeServer = new NodeServer(
    () => {
      const pub = find('node');
      const pubUdp = find('node-udp');
      return selfEntry({
        serverPort: node.port,
        shareIdentity: !!o.shareIdentity,
        ...(pubUdp ? { udpServerPort: pubUdp.remotePort } : udp ? { udpServerPort: udp.port } : {}),
        proxied: pub
          ? {
              host: pub.publicHost,
              port: pub.remotePort,
              engine: engine === 'frp' || protocol === 'frp' ? 'frp' : 'native',
            }
          : undefined,
      });
    },
    () => ({ name: 'p2prc', version: VERSION, role: 'node', publicAddress: find('node')?.publicAddress }),
    () => exchange?.peers() ?? [],
    { learn: (entries, source) => exchange?.learn({ ip_address: entries }, source), shareIdentity: !!o.shareIdentity },
  );
  let exchange: IpTableExchange | undefined;
  let udp: NodeUdpServer | undefined;
  const stopLocal = () => Promise.all([node.close(), udp?.close()]);
  const { bind, localHost } = nodeAddress(o);
  const listen = async (port: number) => void (await node.listen(port, bind));
  const hostIsLocal = isLocalAddress(o.proxy.host);
  const tunnels: TunnelSpec[] = [];
  try {
    // A host on this very machine holds every port it offers, so the same number can never be free
    // on both sides: then the node takes any free local port and the public one is the host's pick.
    // A node server that is not published needs no number free on the host: any free local port.
    const publishNode = o.publishNode !== false;
    const localPort =
      o.port ?? (!publishNode || (hostIsLocal && engine === 'native' && protocol !== 'frp') ? 0 : undefined);
    if (localPort !== undefined) await listen(localPort);
    if (publishNode)
      tunnels.push(
        localPort !== undefined
          ? { name: 'node', localHost, localPort: node.port, remotePort: o.remotePort ?? 'any' }
          : { name: 'node', localHost, listen, remotePort: o.remotePort ?? 'any' },
      );
    if (o.udpPort !== undefined) {
      udp = new NodeUdpServer();
      await udp.listen(o.udpPort, bind);
      tunnels.push({ name: 'node-udp', protocol: 'udp', localHost, localPort: udp.port, remotePort: 'any' });
    }
    tunnels.push(...exposeTunnels(o.expose));
    const previous = protocol === 'frp' || engine === 'frp' ? await previousFrpPorts(o.configDir, o.proxy) : undefined;
    const frpTunnels = () =>
      tunnels.map((t) => {
        if (t.protocol === 'http' || t.protocol === 'https')
          throw new P2prcError(
            'E_NOT_AVAILABLE',
            `--expose ${t.protocol}:... needs the native engine and protocol (a p2prc host with --vhost-${t.protocol}-port)`,
          );
        return {
          name: t.name,
          protocol: t.protocol ?? 'tcp',
          remotePort: t.remotePort ?? 'any',
          previous: previous?.get(`${t.protocol ?? 'tcp'}/${t.name}`),
          ...(t.localHost ? { localHost: t.localHost } : {}),
          ...(t.listen ? { listen: t.listen } : { localPort: t.localPort! }),
        };
      });
    publisher =
      protocol === 'frp'
        ? new FrpWirePublisher({
            host: o.proxy.host,
            port: o.proxy.port,
            token,
            tcpMux: o.tcpMux ?? true,
            tls,
            hostIsLocal,
            tunnels: frpTunnels(),
          })
        : engine === 'frp'
          ? new FrpPublisher({
              binary: await findFrp('frpc', { binDir: o.frpBinDir, configDir: o.configDir }),
              serverAddr: o.proxy.host,
              serverPort: o.proxy.port,
              token,
              tls,
              hostIsLocal,
              tunnels: frpTunnels(),
              logFile: path.join(o.configDir, 'frpc.log'),
              onLog: o.onLog,
              waitForServer: !o.exitOnLoginFailure,
            })
          : new NativePublisher({
              host: o.proxy.host,
              port: o.proxy.port,
              token,
              tls,
              fingerprint: o.fingerprint ?? storedPin(pins[key], key),
              tunnels,
              services: await serviceSpecs(o.configDir, offered),
              clientId: await claimClientId(o.configDir, o.name ?? os.hostname()),
              ...(o.name ? { name: o.name } : {}),
              ...(o.heartbeatMs ? { heartbeatMs: o.heartbeatMs } : {}),
              exitOnLoginFailure: o.exitOnLoginFailure ?? false,
              maxRetries: o.maxRetries ?? Number.POSITIVE_INFINITY,
            });
  } catch (err) {
    await stopLocal();
    throw err;
  }
  const pub = publisher;
  const published = await startPublisher(pub, o, stopLocal).catch((err: unknown) => {
    throw explainPinMismatch(err, key, !o.fingerprint && !!pins[key]);
  });
  if (engine === 'native' && protocol === 'p2prc')
    await rememberHost(
      o.configDir,
      key,
      { fingerprint: pub.fingerprint ? (normalizeFingerprint(pub.fingerprint) ?? undefined) : undefined, token },
      (l) => o.onStatus?.(l),
    );
  await checkLocalPorts(
    (o.expose ?? []).filter((e) => e.protocol === 'tcp').map((e) => ({ name: exposeName(e), port: e.localPort })),
    (l) => o.onStatus?.(l),
  );
  const recorder = await stopOnFailure(
    (async () => {
      const tunnelsRecord = await recordTunnels(o, key, protocol === 'frp' ? 'frp-wire' : engine, tls, pub, published);
      const servicesRecord = await recordServices(o.configDir, o.proxy, offered);
      return { closeAll: async () => (await tunnelsRecord.closeAll(), await servicesRecord.closeAll()) };
    })(),
    async () => (await pub.close(), await stopLocal()),
  );
  exchange = startDiscovery({
    configDir: o.configDir,
    self: () => node.table().ip_address[0]!,
    bootstrap: o.bootstrap ?? [],
    intervalMs: o.exchangeIntervalMs,
    staleMs: o.staleMs,
    log: o.onLog,
    warn: (line) => o.onStatus?.(`warning: ${line}`),
  });
  const ex = exchange;
  const admin = await stopOnFailure(
    startClientAdmin(o, pub, token, protocol === 'frp' ? 'frp-wire' : engine, () => key, ex),
    async () => (await pub.close(), await ex.stop(), await stopLocal(), await recorder.closeAll()),
  );
  return {
    ...running(
      engine,
      pub,
      published,
      node,
      async () => (await ex.stop(), await stopLocal(), await recorder.closeAll()),
      admin,
    ),
    services: offered,
  };
}
