/**
 * p2prc library API. The CLI (src/cli/) is built on this module and nothing else: every command is one
 * function here, so a program can do whatever `p2prc` does.
 *
 * The engine, directly:
 *   const host = await startHost({ controlPort: 0, bind: '127.0.0.1' });
 *   const client = connect({ host: '127.0.0.1', port: host.port, token: host.token,
 *                            fingerprint: host.fingerprint, tunnels: [{ name: 'web', localPort: 8080 }] });
 *   const [tunnel] = await client.ready;   // resolves only after the host confirmed the port
 *   await client.close(); await host.close();
 *
 * The commands, with records and config in a directory (what `p2prc -s --connect-reverse-proxy` does):
 *   const configDir = resolveConfigDir();            // --config-dir, $P2PRC, or the platform directory
 *   const node = await runNodeService({ configDir, proxy: parseHostPort('203.0.113.10', 7000), expose: [parseExpose('3000')] });
 *   console.log(node.published);  (await viewMappings(configDir)).length;  await node.close();
 */
export { P2prcError, ERROR_CODES, EXIT_CODES, isP2prcError, toP2prcError, type ErrorCode } from './errors.js';
export { VERSION } from './version.js';

// Engine: a reverse-proxy host and a publishing client.
export type { HostHandle } from './host/start.js';
export type { ReverseProxyHost, HostEvents, TunnelInfo } from './host/host.js';
export type { HostOptions } from './host/options.js';
export {
  parsePortRanges,
  formatPortRanges,
  formatAddress,
  type PortRange,
  type PublishedTunnel,
} from './protocol/address.js';
export { ReverseProxyClient, type ClientStatus, type ClientEvents } from './client/client.js';
export type { ConnectOptions, TunnelSpec } from './client/options.js';
export { normalizeFingerprint } from './transport/cert.js';

import { ReverseProxyClient } from './client/client.js';
import type { ConnectOptions } from './client/options.js';

/** Starts publishing; await `.ready` for the confirmed public addresses, listen to 'status' for reconnects. */
export function connect(options: ConnectOptions): ReverseProxyClient {
  return new ReverseProxyClient(options).start();
}
export { ServiceVisitor, listServices, type VisitOptions, type HostAccess } from './services/visit.js';
export type { DirectMode, PathState } from './direct/visit.js';
export type { ServiceSpec } from './client/options.js';
export type { ServiceInfo } from './protocol/messages.js';

// Commands: what each `p2prc` mode runs, with records in a config directory.
export type { HostServiceOptions, HostService } from './modes/host.js';
export { detectPublicHost } from './node/iptable.js';
export type { RunningHost } from './modes/host-engines.js';
export type { NodeServiceOptions, NodeService } from './modes/node.js';
export type { NodeServiceSpec, OfferedService } from './modes/node-services.js';
export type { Publisher } from './modes/publishers.js';
export type { PlainNodeOptions, PlainNode } from './node/plain.js';
export type {
  HostAccessOptions,
  ServiceOwnerOptions,
  ServiceOwner,
  VisitServiceOptions,
  ServiceVisit,
} from './services/run.js';
export { startHost } from './host/start.js';
export { runHostService } from './modes/host.js';
export { runNodeService } from './modes/node.js';
export { runPlainNode } from './node/plain.js';
export { runServiceOwner, runVisit, runListServices } from './services/run.js';
export { installFrp } from './frp/install.js';
export { loadUsers, addUser } from './services/accounts-file.js';
export {
  listNodes,
  addNode,
  removeNode,
  parseNodeAddress,
  P2PRC_DEFAULT_PORT,
  type NodeAddress,
} from './node/node-address.js';
export { parseHostPort, parseExpose, type HostPort, type ExposeSpec } from './protocol/parse-address.js';
export {
  loadClientConfig,
  parseClientConfig,
  type ClientConfigFile,
  type ConfigTunnel,
} from './store/client-config.js';

// Records and config: the two views, pruning and repair, the config directory.
export {
  viewServers,
  viewMappings,
  pruneMappings,
  repairRecords,
  mappingState,
  type ServerView,
  type MappingView,
  type ServerState,
  type MappingState,
} from './views/index.js';
export { repairConfigDir } from './store/repair.js';
export { repairUsers } from './services/accounts-file.js';
export {
  resolveConfigDir,
  openConfig,
  readSecrets,
  updateSecrets,
  type P2prcConfig,
  type P2prcSecrets,
  type P2prcSettings,
  RecordStore,
  type ServerRecord,
  type MappingRecord,
} from './store/index.js';

// frp fallback: install and locate the binaries `--engine frp` drives.
export type { InstallOptions, Installed } from './frp/install.js';
export { findFrp, type FrpBinary, type FrpProgram } from './frp/binary.js';

// Observability: the admin server (dashboard, /metrics, JSON API), its views, and the CLI's logger.
export { Logger, parseLogLevel, LOG_LEVELS, type LogLevel, type LogFormat, type LoggerOptions } from './log/logger.js';
export type { AdminServer, AdminServerOptions } from './admin/admin-server.js';
export type { AdminSource, ClientView, TunnelView, AdminEvent, RefusalReason } from './admin/model.js';
export {
  hostAdminSource,
  clientAdminSource,
  recordHostEvents,
  startAdmin,
  type AdminFlags,
  type RunningAdmin,
} from './admin/attach.js';
export {
  viewClients,
  viewLiveTunnels,
  viewStatus,
  type ClientsView,
  type LiveTunnels,
  type StatusView,
  type TunnelStatus,
} from './views/index.js';
