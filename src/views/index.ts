/**
 * The library's offline views (what `--view-rps`, `--view-rpm` and `--view-clients` show), as a
 * door of their own: src/index.ts re-exports all of it, and the CLI's view commands load only this,
 * so listing tunnels does not make V8 read every engine's code first (`--view-rpm --json` to exit
 * is one of the startup figures in docs/benchmarks.md).
 */
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
} from './servers.js';
export { viewClients, viewLiveTunnels, type ClientsView, type LiveTunnels } from './live.js';
export { viewStatus, type StatusView, type TunnelStatus } from './status.js';
export { resolveConfigDir } from '../store/index.js';
export { formatAddress } from '../protocol/address.js';
