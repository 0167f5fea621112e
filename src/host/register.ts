import net from 'node:net';
import { P2prcError, isP2prcError } from '../errors.js';
import type { Messages, TunnelProtocol } from '../protocol/messages.js';
import { listenTcp } from '../transport/net.js';
import type { PortPolicy } from './ports.js';
import type { PrincipalQuota } from './principals.js';

export { PrincipalQuota } from './principals.js';
import type { ClientSession } from './session.js';
import { PublicTunnel, type HostedTunnel } from './tunnel.js';
import { UdpTunnel, bindUdp } from './udp-tunnel.js';

export interface RegistryOptions {
  policy: PortPolicy;
  bind: string;
  maxTunnelsPerClient: number;
  /** Tunnels per principal, shared by native clients and frp proxies (principals.ts). */
  quota: PrincipalQuota;
  /** How long the host holds an offered port while the client checks its own side. */
  offerTimeoutMs: number;
  /** Offers tried for "any" before giving up. */
  maxOffers: number;
  udpIdleMs: number;
  /** Visitors one UDP tunnel remembers (one not seen lately makes room). */
  udpMaxVisitors?: number;
}

/**
 * Turns a Register request into a bound public listener, negotiating a port free on both sides:
 * the host binds first (so the port is really held), then offers it; the client confirms or
 * rejects (taken locally) and the host tries another. No window exists where both sides think a
 * port is free but it is not.
 */
/** A Register for a port of its own (tcp or udp; http tunnels are routes on the vhost port instead). */
export type PortRegister = Messages['Register'] & { protocol: TunnelProtocol };

export async function negotiateTunnel(
  opts: RegistryOptions,
  session: ClientSession,
  req: PortRegister,
  reservations: {
    /** The port held for this client, if it is. */
    take(port: number, protocol: TunnelProtocol): HostedTunnel | undefined;
    /** The port this client's tunnel of that name held, for a request of "any". */
    takeNamed(name: string, protocol: TunnelProtocol): HostedTunnel | undefined;
  },
): Promise<HostedTunnel> {
  if (session.tunnels.has(req.tunnelId))
    throw new P2prcError('E_PROTOCOL', `tunnel ${req.tunnelId} is already registered`);
  if (req.remotePort === 0) {
    // "Any", from a client whose tunnel of this name is held (it crashed and came back): that port,
    // if it is free on the client's side too; else the usual negotiation.
    const held = reservations.takeNamed(req.name, req.protocol);
    if (held) {
      held.tunnelId = req.tunnelId;
      if (await offer(opts, session, req, held)) return held;
      held.close();
      opts.policy.release(held.port, session.clientId, held.protocol);
    }
  }
  // TCP and UDP ports are separate spaces, in the policy and in the reservations alike; a reservation
  // handed back for the other protocol is still refused rather than reused.
  const reserved = req.remotePort > 0 ? reservations.take(req.remotePort, req.protocol) : undefined;
  if (reserved && reserved.protocol !== req.protocol) {
    throw new P2prcError('E_PORT_TAKEN', `port ${req.remotePort} is held by this client for ${reserved.protocol}`, {
      details: { side: 'host', port: req.remotePort },
    });
  }
  if (!reserved && opts.policy.countOwnedBy(session.clientId) >= opts.maxTunnelsPerClient) {
    throw new P2prcError(
      'E_QUOTA',
      `client already has ${opts.maxTunnelsPerClient} tunnels (the host's per-client limit)`,
    );
  }
  if (reserved) {
    reserved.tunnelId = req.tunnelId;
    reserved.name = req.name;
    if (await offer(opts, session, req, reserved)) return reserved;
    reserved.close();
    opts.policy.release(reserved.port, session.clientId, reserved.protocol);
    throw new P2prcError('E_PORT_TAKEN', `port ${req.remotePort} is taken on the client side`, {
      details: { side: 'local', port: req.remotePort },
    });
  }
  if (req.remotePort > 0) {
    const tunnel = await bindTunnel(opts, session, req, req.remotePort);
    if (await offer(opts, session, req, tunnel)) return tunnel;
    discard(opts, session, tunnel);
    throw new P2prcError('E_PORT_TAKEN', `port ${req.remotePort} is taken on the client side`, {
      details: { side: 'local', port: req.remotePort },
    });
  }
  const tried = new Set<number>();
  for (let attempt = 0; attempt < opts.maxOffers; attempt++) {
    const [port] = opts.policy.pickCandidates(1, tried, Math.random, req.protocol);
    if (port === undefined) break;
    tried.add(port);
    let tunnel: HostedTunnel;
    try {
      tunnel = await bindTunnel(opts, session, req, port);
    } catch (err) {
      if (isP2prcError(err, 'E_PORT_TAKEN') || isP2prcError(err, 'E_PORT_DENIED')) continue;
      throw err;
    }
    if (await offer(opts, session, req, tunnel)) return tunnel;
    discard(opts, session, tunnel);
  }
  throw new P2prcError('E_PORT_TAKEN', `no port free on both the host and the client after ${tried.size} tries`, {
    details: { side: 'host' },
  });
}

async function offer(
  opts: RegistryOptions,
  session: ClientSession,
  req: PortRegister,
  tunnel: HostedTunnel,
): Promise<boolean> {
  if (!req.matchLocal) return true;
  try {
    return await session.offerPort(req.tunnelId, tunnel.port, opts.offerTimeoutMs);
  } catch (err) {
    discard(opts, session, tunnel);
    throw err;
  }
}

function discard(opts: RegistryOptions, session: ClientSession, tunnel: HostedTunnel): void {
  tunnel.close();
  opts.policy.release(tunnel.port, session.clientId, tunnel.protocol);
}

function bindTunnel(
  opts: RegistryOptions,
  session: ClientSession,
  req: PortRegister,
  port: number,
): Promise<HostedTunnel> {
  return bindPublicPort(
    opts,
    { owner: session.clientId, tunnelId: req.tunnelId, name: req.name, protocol: req.protocol },
    port,
  );
}

/**
 * Takes `port` for `owner` in the policy and binds it (a TCP listener or a UDP socket), releasing it
 * again on any failure; shared by native registrations and frp proxies.
 */
export async function bindPublicPort(
  opts: Pick<RegistryOptions, 'policy' | 'bind' | 'udpIdleMs' | 'udpMaxVisitors'>,
  t: { owner: string; tunnelId: string; name: string; protocol: TunnelProtocol },
  port: number,
): Promise<HostedTunnel> {
  opts.policy.take(port, t.owner, t.protocol);
  if (t.protocol === 'udp') {
    try {
      return new UdpTunnel(
        t.tunnelId,
        port,
        await bindUdp(port, opts.bind),
        t.owner,
        t.name,
        opts.udpIdleMs,
        opts.udpMaxVisitors,
      );
    } catch (err) {
      opts.policy.release(port, t.owner, 'udp');
      throw err;
    }
  }
  const server = net.createServer({ noDelay: true, allowHalfOpen: true });
  try {
    await listenTcp(server, port, opts.bind);
  } catch (err) {
    opts.policy.release(port, t.owner, t.protocol);
    server.close();
    if (isP2prcError(err, 'E_PORT_TAKEN')) {
      throw new P2prcError('E_PORT_TAKEN', `port ${port} is already in use on the host`, {
        details: { side: 'host', port },
      });
    }
    throw err;
  }
  return new PublicTunnel(t.tunnelId, port, server, t.owner, t.name, t.protocol);
}
