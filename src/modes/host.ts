import path from 'node:path';
import { P2prcError, isP2prcError } from '../errors.js';
import { hostStateDir, startFrpHost, startNativeHost, type RunningHost } from './host-engines.js';
import type { HostOptions } from '../host/options.js';
import { formatAddress } from '../protocol/address.js';
import { NodeServer } from '../node/node-server.js';
import { detectPublicHost, selfEntry } from '../node/iptable.js';
import { RecordStore, ensureConfigDir, openConfig, readSecrets, recordWriteWarning } from '../store/index.js';
import { VERSION } from '../version.js';
import type { IpTableExchange } from '../node/exchange.js';
import type { PeerEntry, ReverseProxyInfo } from '../node/validate.js';
import { startDiscovery } from '../node/discovery.js';
import { recordDiscovery, startHostAdmin, type AdminFlags, type RunningAdmin } from '../admin/attach.js';

export interface HostServiceOptions extends HostOptions {
  configDir: string;
  engine?: 'native' | 'frp';
  frpBinDir?: string | undefined;
  /** Port of this machine's P2PRC node server; 0 picks one. Default 8088, or a free one if that is taken. */
  nodePort?: number;
  /** Turn off the node server. */
  noNodeServer?: boolean;
  /** Publish the token in the IP table so any node may use this host. */
  open?: boolean;
  bootstrap?: string[];
  exchangeIntervalMs?: number;
  /** Host and user name in the node server's /ip_table and /server_info (off: empty strings). */
  shareIdentity?: boolean;
  staleMs?: number;
  /** Admin server (dashboard, /metrics, /api/*) on this port; native engine only. */
  admin?: AdminFlags;
}

export interface HostService {
  handle: RunningHost;
  publicHost: string;
  controlAddress: string;
  connectCommand: string;
  nodePort: number | undefined;
  admin: RunningAdmin | undefined;
  warnings: string[];
  close(): Promise<void>;
}

/**
 * `p2prc -s --reverse-proxy`: starts the reverse-proxy host (native, or a supervised frps), its P2PRC
 * node server and IP table exchange, and records it in reverse_proxy_server.json. `controlPort` not
 * given comes from config.json in `configDir`, `token` from secrets.json there (or, until moved, from
 * config.json), then the defaults (7000, generated once).
 * Stock frpc clients' tunnels are recorded too; a failed write there is a `warn` log line.
 */
export async function runHostService(given: HostServiceOptions): Promise<HostService> {
  await ensureConfigDir(given.configDir);
  // config.json and secrets.json only fill what the flags left out; not opening them then keeps
  // conf off a host's startup, which frp's CI suite times at 200 ms.
  const options = {
    ...given,
    controlPort: given.controlPort ?? (await openConfig(given.configDir)).get('controlPort'),
    token: given.token ?? (await readSecrets(given.configDir)).token,
  };
  if (options.admin && options.engine === 'frp')
    throw new P2prcError('E_USAGE', '--admin-port needs the native engine (frps has its own dashboard)');
  const stateDir = hostStateDir(options.configDir);
  const handle =
    options.engine === 'frp'
      ? await startFrpHost(options, stateDir, path.join(options.configDir, 'frps.log'))
      : await startNativeHost(
          { ...options, openFrpPort: options.open ? (options.openFrpPort ?? 0) : undefined },
          stateDir,
        );
  const warnings: string[] = [];
  const weak = weakTokenWarning(handle.token);
  if (weak) warnings.push(weak);
  const publicHost = detectPublicHost(handle.bind, options.publicHost);
  let node: NodeServer | undefined;
  let exchange: IpTableExchange | undefined;
  let admin: RunningAdmin | undefined;
  try {
    admin = await startHostAdmin(options, handle.native, stateDir);
    if (!options.noNodeServer) {
      const self = (): PeerEntry => {
        const stats = handle.stats();
        const info: ReverseProxyInfo = {
          ControlPort: handle.port,
          Fingerprint: handle.fingerprint ?? '',
          Tls: handle.tls,
          Engine: handle.engine,
          Open: !!options.open,
          ...(options.open ? { Token: handle.token } : {}),
          AcceptsClients: stats.clients < stats.maxClients,
          FreePorts: stats.freePorts,
          Clients: stats.clients,
          Version: VERSION,
        };
        return {
          ...selfEntry({
            serverPort: node!.port,
            proxyServer: true,
            advertise: publicHost,
            reverseProxy: info,
            shareIdentity: !!options.shareIdentity,
            lendsFrpPort: !!options.open,
          }),
          ReverseProxy: info,
        };
      };
      node = new NodeServer(
        self,
        () => ({ name: 'p2prc', version: VERSION, role: 'reverse-proxy' }),
        () => exchange?.peers() ?? [],
        {
          learn: (entries, source) => exchange?.learn({ ip_address: entries }, source),
          frpPort: async () => lentFrpPort(handle, !!options.open),
          shareIdentity: !!options.shareIdentity,
        },
      );
      const wanted = options.nodePort ?? 8088;
      try {
        await node.listen(wanted, handle.bind);
      } catch (err) {
        if (!isP2prcError(err, 'E_PORT_TAKEN') || options.nodePort !== undefined) throw err;
        await node.listen(0, handle.bind);
        warnings.push(`node server port ${wanted} is taken; using ${node.port}`);
      }
    }
    recordFrpTunnels(options.configDir, handle);
    if (node) {
      const selfFn = node.table.bind(node);
      exchange = startDiscovery({
        configDir: options.configDir,
        self: () => selfFn().ip_address[0]!,
        bootstrap: options.bootstrap ?? [],
        intervalMs: options.exchangeIntervalMs,
        staleMs: options.staleMs,
        log: (m) => handle.logs.emit('log', { level: 'debug', message: m }),
        warn: (m) => handle.logs.emit('log', { level: 'warn', message: m }),
      });
      if (admin) recordDiscovery(exchange, admin.server);
    }
    await recordSelf(options.configDir, handle, publicHost);
  } catch (err) {
    await admin?.close();
    await exchange?.stop();
    await node?.close();
    await handle.close();
    throw err;
  }
  const fp = handle.fingerprint ? ` --fingerprint ${handle.fingerprint}` : '';
  const tlsFlag = handle.engine === 'frp' ? ' --engine frp --no-tls' : handle.tls ? '' : ' --no-tls';
  return {
    handle,
    publicHost,
    controlAddress: formatAddress(handle.bind, handle.port),
    connectCommand: `p2prc -s --connect-reverse-proxy ${formatAddress(publicHost, handle.port)} --token ${handle.token}${fp}${tlsFlag}`,
    nodePort: node?.port,
    admin,
    warnings,
    async close() {
      await admin?.close();
      await exchange?.stop();
      await Promise.all([node?.close(), handle.close()]);
    },
  };
}

/** This host's own row in reverse_proxy_server.json. */
async function recordSelf(configDir: string, handle: RunningHost, publicHost: string): Promise<void> {
  const now = new Date().toISOString();
  await new RecordStore(configDir).upsertServer({
    id: handle.id,
    address: publicHost,
    controlPort: handle.port,
    fingerprint: handle.fingerprint ?? null,
    tls: handle.tls,
    version: VERSION,
    engine: handle.engine,
    source: 'local',
    firstSeen: now,
    lastSeen: now,
    pid: process.pid,
  });
}

/**
 * P2PRC's GET /FRPPort: the port where a token-less frp client may log in (the same one for TCP and
 * UDP proxies; frp logs in over TCP for both). Refused, with the reason, unless the host is open.
 */
function lentFrpPort(handle: RunningHost, open: boolean): number {
  if (!open)
    throw new P2prcError(
      'E_NOT_AVAILABLE',
      'this host is not open; its operator can lend frp ports to token-less nodes with --open',
    );
  const port = handle.native?.openFrpPort;
  if (port === undefined)
    throw new P2prcError(
      'E_NOT_AVAILABLE',
      handle.engine === 'frp'
        ? 'a host on the frp engine lends no token-less frp port'
        : 'frp compatibility is off on this host (--frp-compat off)',
    );
  return port;
}

/** Stock frpc clients' tunnels on this host go into reverse_proxy_mapping.json as engine frp-wire. */
function recordFrpTunnels(configDir: string, handle: RunningHost): void {
  const store = new RecordStore(configDir);
  // The host keeps serving when the file cannot be written, but the operator must see the drift.
  const warn = (what: string) => (err: unknown) =>
    handle.logs.emit('log', { level: 'warn', message: recordWriteWarning(what, store.mappingsPath, err) });
  const ids = new Map<string, string>();
  handle.native?.on('tunnel', (t) => {
    if (t.engine !== 'frp-wire') return;
    const now = new Date().toISOString();
    // P2PRC's Go client names no proxy; a record needs a name, so such a tunnel is named by its port.
    const name = t.name || `frp-${t.port}`;
    const id = ids.get(t.clientId) ?? `${process.pid}-frp-${name}`;
    ids.set(t.clientId, id);
    void store
      .upsertMapping({
        id,
        name,
        kind: 'tunnel',
        protocol: 'tcp',
        engine: 'frp-wire',
        localHost: 'frpc',
        localPort: 0,
        publicHost: handle.bind,
        publicPort: t.port,
        proxyHost: handle.bind,
        proxyControlPort: handle.port,
        pid: process.pid,
        createdAt: now,
        updatedAt: now,
        status: 'active',
      })
      .catch(warn(`frp tunnel ${name}`));
  });
  handle.native?.on('tunnel-closed', (t) => {
    const id = ids.get(t.clientId);
    if (!id) return;
    ids.delete(t.clientId);
    const at = new Date().toISOString();
    void store
      .updateMapping(id, { status: 'closed', closedAt: at, updatedAt: at })
      .catch(warn(`the close of frp tunnel ${t.name}`));
  });
}

/** Tokens shorter than this are accepted (frp users bring ones such as `123456`) but warned about. */
const STRONG_TOKEN_LENGTH = 16;

/** The warning for a short token, with how to make a strong one; undefined for a strong one. Pure. */
export function weakTokenWarning(token: string): string | undefined {
  if (token.length >= STRONG_TOKEN_LENGTH) return undefined;
  return (
    `the token is only ${token.length} characters long: whoever can reach the control port may guess it; ` +
    'make a strong one with `openssl rand -hex 16`, or give none and the host generates one and keeps it'
  );
}
