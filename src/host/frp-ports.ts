import { P2prcError, isP2prcError } from '../errors.js';
import type { FrpOpenRequest, FrpPorts } from '../frp-wire/server/ports.js';
import { bindPublicPort, type RegistryOptions } from './register.js';
import { principalOf } from './principals.js';
import type { Reservations } from './reservations.js';
import type { HostedTunnel } from './tunnel.js';

/** Owner ids of frp proxies; native client ids may not start with these (see isFrpOwnerId), so the namespaces never meet. */
const FRP_OWNER = 'frp:';
const FRP_OPEN_OWNER = 'frp-open:';

export function isFrpOwnerId(id: string): boolean {
  return id.startsWith(FRP_OWNER) || id.startsWith(FRP_OPEN_OWNER);
}

export interface FrpPortsDeps {
  registry: Pick<RegistryOptions, 'policy' | 'bind' | 'udpIdleMs' | 'udpMaxVisitors' | 'maxTunnelsPerClient' | 'quota'>;
  reservations: Reservations;
  /** A proxy's port is open (new or taken back from grace). */
  opened(tunnel: HostedTunnel): void;
}

/**
 * The host's public ports as the frp-wire server sees them: the same policy, quotas and grace as
 * p2prc clients get. Ports are owned per proxy name (frp's unit of identity: names are unique per
 * server), so a restarted frpc, which comes back with a new run id, still gets its port back within the grace.
 */
export function hostFrpPorts(d: FrpPortsDeps): FrpPorts<HostedTunnel> {
  const { registry, reservations } = d;
  return {
    async open({ runId, name, remotePort, sink, held, udp, tokenless, remote }: FrpOpenRequest): Promise<HostedTunnel> {
      // Token-less clients share no secret, and P2PRC's all send an empty proxy name: their ports are
      // owned per run id (which frpc presents again when it reconnects), never by name alone, so they
      // can never take a token client's port or one another's.
      const owner = tokenless ? `${FRP_OPEN_OWNER}${runId}:${name}` : `${FRP_OWNER}${name}`;
      const protocol = udp ? 'udp' : 'tcp';
      // remote_port 0 is frps's "any": a proxy that comes back within its grace gets the port it held.
      const reserved =
        remotePort > 0 ? reservations.take(owner, remotePort, protocol) : reservations.takeNamed(owner, name, protocol);
      // frp's `user` is not authenticated: like a token-only native client, an frpc counts against its address.
      const principal = remote === undefined ? undefined : principalOf(undefined, remote);
      if (reserved) {
        reserved.name = name;
        reserved.sink = sink;
        reserved.principal = principal;
        registry.quota.opened(reserved);
        d.opened(reserved);
        return reserved;
      }
      if (held >= registry.maxTunnelsPerClient)
        throw new P2prcError('E_QUOTA', `more than ${registry.maxTunnelsPerClient} proxies`);
      const unreserve = principal === undefined ? () => undefined : registry.quota.reserve(principal);
      try {
        const tunnel = await bindAny(registry, owner, name, protocol, remotePort);
        tunnel.sink = sink;
        tunnel.principal = principal;
        registry.quota.opened(tunnel);
        d.opened(tunnel);
        return tunnel;
      } finally {
        unreserve();
      }
    },
    close: (runId, tunnel, keep) => {
      registry.quota.closed(tunnel);
      if (keep) reservations.hold(tunnel.clientId, tunnel, `frp client ${runId}`);
      else reservations.release(tunnel);
    },
  };
}

/** A port from the policy: the one asked for, or the first free of 20 random candidates. */
async function bindAny(
  registry: FrpPortsDeps['registry'],
  owner: string,
  name: string,
  protocol: 'tcp' | 'udp',
  remotePort: number,
): Promise<HostedTunnel> {
  const candidates =
    remotePort > 0 ? [remotePort] : registry.policy.pickCandidates(20, new Set(), Math.random, protocol);
  for (const port of candidates) {
    try {
      return await bindPublicPort(registry, { owner, tunnelId: owner, name, protocol }, port);
    } catch (err) {
      if (remotePort > 0 || !isP2prcError(err, 'E_PORT_TAKEN')) throw err;
    }
  }
  throw new P2prcError('E_PORT_TAKEN', 'no free port in the host policy');
}
