/**
 * p2prc library API. The CLI is built on this module and nothing else.
 *
 *   const host = await startHost({ controlPort: 0, bind: '127.0.0.1' });
 *   const client = connect({ host: '127.0.0.1', port: host.port, token: host.token,
 *                            fingerprint: host.fingerprint, tunnels: [{ name: 'web', localPort: 8080 }] });
 *   const [tunnel] = await client.ready;   // resolves only after the host confirmed the port
 *   await client.close(); await host.close();
 */
export { P2prcError, ERROR_CODES, EXIT_CODES, isP2prcError, type ErrorCode } from './errors.js';
export { startHost, type HostHandle } from './host/start.js';
export { ReverseProxyHost, type HostEvents, type TunnelInfo } from './host/host.js';
export type { HostOptions } from './host/options.js';
export { parsePortRanges, formatPortRanges, type PortRange } from './host/ports.js';
export { ReverseProxyClient, formatAddress, type PublishedTunnel, type ClientStatus, type ClientEvents } from './client/client.js';
export type { ConnectOptions, TunnelSpec } from './client/options.js';
export { normalizeFingerprint } from './transport/cert.js';

import { ReverseProxyClient } from './client/client.js';
import type { ConnectOptions } from './client/options.js';

/** Starts publishing; await `.ready` for the confirmed public addresses, listen to 'status' for reconnects. */
export function connect(options: ConnectOptions): ReverseProxyClient {
  return new ReverseProxyClient(options).start();
}
export { ServiceVisitor, listServices, type VisitOptions, type HostAccess } from './client/visitor.js';
export type { ServiceSpec } from './client/options.js';
export type { ServiceInfo } from './protocol/messages.js';
