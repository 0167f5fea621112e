/**
 * The library's entry points whose code is large and that only one kind of process runs: a host, a node
 * service, the service commands, the frp installer. src/index.ts exports these wrappers, and each loads
 * its module on its first call, so `import { connect } from 'p2prc'` loads the client and not the host,
 * the frp-compatible server, the vhost or node:http (issue 16: an idle client under 60 MB; the bench's
 * library client reads about 3 MB less after its visitors, docs/benchmarks.md, session 9).
 */
import type { HostOptions } from '../host/options.js';
import type { HostHandle } from '../host/start.js';
import type { HostService, HostServiceOptions } from '../service/host-service.js';
import type { NodeService, NodeServiceOptions } from '../service/node-service.js';
import type { PlainNode, PlainNodeOptions } from '../service/plain-node.js';
import type { HostAccessOptions, ServiceOwner, ServiceOwnerOptions, ServiceVisit, VisitServiceOptions } from '../service/services.js';
import type { InstallOptions, Installed } from '../frp/install.js';
import type { ServiceInfo } from '../protocol/messages.js';

const load = () => import('./implementations.js');

/** Loads the modes' code now, so that the first call does not wait for it (the CLI, while it parses flags). */
export async function preloadModes(): Promise<void> {
  await load();
}

/** Starts a native reverse-proxy host (src/host/start.ts). */
export async function startHost(options?: HostOptions): Promise<HostHandle> {
  return (await load()).startHost(options);
}

/** `p2prc -s --reverse-proxy` (src/service/host-service.ts). */
export async function runHostService(options: HostServiceOptions): Promise<HostService> {
  return (await load()).runHostService(options);
}

/** `p2prc -s --connect-reverse-proxy` (src/service/node-service.ts). */
export async function runNodeService(options: NodeServiceOptions): Promise<NodeService> {
  return (await load()).runNodeService(options);
}

/** `p2prc -s` without a proxy (src/service/plain-node.ts). */
export async function runPlainNode(options: PlainNodeOptions): Promise<PlainNode> {
  return (await load()).runPlainNode(options);
}

/** `p2prc -s --connect-reverse-proxy <host> --service <id>` (src/service/services.ts). */
export async function runServiceOwner(options: ServiceOwnerOptions): Promise<ServiceOwner> {
  return (await load()).runServiceOwner(options);
}

/** `p2prc --visit` (src/service/services.ts). */
export async function runVisit(options: VisitServiceOptions): Promise<ServiceVisit> {
  return (await load()).runVisit(options);
}

/** `p2prc --services` (src/service/services.ts). */
export async function runListServices(options: HostAccessOptions): Promise<ServiceInfo[]> {
  return (await load()).runListServices(options);
}

/** `p2prc frp install` (src/frp/install.ts). */
export async function installFrp(options: InstallOptions): Promise<Installed> {
  return (await load()).installFrp(options);
}
