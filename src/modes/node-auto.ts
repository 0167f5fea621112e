import os from 'node:os';
import { formatAddress } from '../protocol/address.js';
import type { TunnelSpec } from '../client/options.js';
import { NodeServer } from '../node/node-server.js';
import { selfEntry } from '../node/iptable.js';
import type { IpTableExchange } from '../node/exchange.js';
import { RecordStore, claimClientId } from '../store/index.js';
import { VERSION } from '../version.js';
import { NativePublisher } from './publishers.js';
import { FrpWirePublisher } from '../frp-wire/client/publisher.js';
import { isLocalAddress } from './node.js';
import { P2prcError } from '../errors.js';
import { FailoverPublisher } from './failover.js';
import { rankHosts } from './choose-host.js';
import { startDiscovery } from '../node/discovery.js';
import { startClientAdmin } from '../admin/attach.js';
import {
  exposeTunnels,
  nodeAddress,
  recordTunnels,
  running,
  startPublisher,
  stopOnFailure,
  type NodeService,
  type NodeServiceOptions,
} from './node-publish.js';

/** --connect-reverse-proxy auto: the node server on a local port, published through the best known host, with failover. */
export async function runAuto(o: NodeServiceOptions): Promise<NodeService> {
  await new RecordStore(o.configDir).prepare();
  let publisher: FailoverPublisher | undefined;
  const find = (name: string) => publisher?.published().find((t) => t.name === name);
  let exchange: IpTableExchange | undefined;
  const node: NodeServer = new NodeServer(
    () => {
      const pub = find('node');
      return selfEntry({
        serverPort: node.port,
        shareIdentity: !!o.shareIdentity,
        proxied: pub ? { host: pub.publicHost, port: pub.remotePort, engine: 'native' } : undefined,
      });
    },
    () => ({ name: 'p2prc', version: VERSION, role: 'node', publicAddress: find('node')?.publicAddress }),
    () => exchange?.peers() ?? [],
    { learn: (entries, source) => exchange?.learn({ ip_address: entries }, source), shareIdentity: !!o.shareIdentity },
  );
  const { bind, localHost } = nodeAddress(o);
  await node.listen(o.port ?? 0, bind);
  const tunnels: TunnelSpec[] = [
    ...(o.publishNode === false
      ? []
      : [{ name: 'node', localHost, localPort: node.port, remotePort: o.remotePort ?? 'any' }]),
    ...exposeTunnels(o.expose),
  ];
  const ex = startDiscovery({
    configDir: o.configDir,
    self: () => node.table().ip_address[0]!,
    bootstrap: o.bootstrap ?? [],
    intervalMs: o.exchangeIntervalMs,
    staleMs: o.staleMs,
    log: o.onLog,
    warn: (line) => o.onStatus?.(`warning: ${line}`),
  });
  exchange = ex;
  const clientId = await claimClientId(o.configDir, o.name ?? os.hostname());
  publisher = new FailoverPublisher({
    configDir: o.configDir,
    failoverMs: o.failoverMs ?? 30_000,
    // With --bootstrap, a fresh config dir knows no host yet: ask the network (again, on each retry) before ranking.
    rank: async (exclude) => {
      if (o.bootstrap?.length) await ex.round().then(() => ex.recorded());
      return rankHosts(o.configDir, o.token, 1_500, exclude, { acceptPeerTokens: o.acceptPeerTokens ?? false });
    },
    waitForHosts: !!o.bootstrap?.length && !o.exitOnLoginFailure,
    make: (c) =>
      c.lent
        ? new FrpWirePublisher({
            host: c.host,
            port: c.port,
            token: '',
            tcpMux: true,
            tls: false,
            hostIsLocal: isLocalAddress(c.host),
            tunnels: tunnels.map((t) => {
              if (t.protocol === 'http' || t.protocol === 'https')
                throw new P2prcError('E_NOT_AVAILABLE', `--expose ${t.protocol}:... needs a p2prc host`);
              return {
                ...t,
                protocol: t.protocol ?? 'tcp',
                remotePort: t.remotePort ?? 'any',
                localPort: t.localPort!,
              };
            }),
          })
        : new NativePublisher({
            host: c.host,
            port: c.port,
            token: c.token,
            tls: c.tls,
            fingerprint: c.fingerprint,
            tunnels,
            clientId,
            ...(o.name ? { name: o.name } : {}),
            ...(o.heartbeatMs ? { heartbeatMs: o.heartbeatMs } : {}),
            exitOnLoginFailure: true,
          }),
  });
  const pub = publisher;
  const published = await startPublisher(pub, o, async () => (await ex.stop(), await node.close()));
  const proxy = () => pub.proxy() ?? { host: '', port: 0 };
  const recorder = await stopOnFailure(
    recordTunnels(
      { ...o, proxy: proxy() },
      formatAddress(proxy().host, proxy().port),
      'native',
      true,
      pub,
      published,
      proxy,
    ),
    async () => (await pub.close(), await ex.stop(), await node.close()),
  );
  const admin = await stopOnFailure(
    startClientAdmin(o, pub, o.token, 'native', () => formatAddress(proxy().host, proxy().port), ex),
    async () => (await pub.close(), await ex.stop(), await node.close(), await recorder.closeAll()),
  );
  return running(
    'native',
    pub,
    published,
    node,
    async () => (await ex.stop(), await node.close(), await recorder.closeAll()),
    admin,
  );
}
