import { dial } from '../transport/net.js';
import { formatAddress } from '../protocol/address.js';
import type { TunnelView } from '../admin/model.js';
import { viewMappings, viewServers, type MappingState, type MappingView, type ServerView } from './servers.js';
import { viewLiveTunnels } from './live.js';

/** One of this machine's tunnels (or services by ID) as `p2prc status` shows it. */
export interface TunnelStatus {
  name: string;
  /** tcp, udp, http, https, or service. */
  type: string;
  /** host:port */
  local: string;
  /** host:port; for a service by ID, `service:<id>`. */
  public: string;
  /** The reverse-proxy host's control address, host:port. */
  host: string;
  state: MappingState;
  reachable: boolean;
  /** From the owner's admin API, when it runs with --admin-port. */
  live?: Pick<TunnelView, 'online' | 'visitorsNow' | 'visitorsTotal' | 'bytesIn' | 'bytesOut'>;
}

export interface StatusView {
  hosts: ServerView[];
  tunnels: TunnelStatus[];
  /** Admin APIs that did not answer. */
  errors: string[];
}

/** A TCP connect within `timeoutMs`: true when something accepts there now. Never throws. */
async function accepts(host: string, port: number, timeoutMs: number): Promise<boolean> {
  try {
    const { socket } = await dial({ host, port, tls: false, timeoutMs });
    socket.destroy();
    return true;
  } catch {
    return false;
  }
}

/**
 * Where an active tunnel is probed: its public address (tcp), the host's vhost port (http, https:
 * the domain may not resolve from here), or, without a TCP public port (udp, services), the host's
 * control port: the tunnel is up while its owner is alive and the host accepts.
 */
function probeTarget(m: MappingView): { host: string; port: number } {
  if (m.kind === 'tunnel' && m.publicPort && m.protocol === 'tcp') return { host: m.publicHost, port: m.publicPort };
  if (m.kind === 'tunnel' && m.publicPort && m.protocol !== 'udp') return { host: m.proxyHost, port: m.publicPort };
  return { host: m.proxyHost, port: m.proxyControlPort };
}

/**
 * `p2prc status`: the hosts (probed, as --view-rps does) and this machine's tunnels and services by
 * name (reverse_proxy_mapping.json), each active one probed with a TCP connect, all in parallel and
 * each bounded by `timeoutMs`; with an owner's admin API up, its live counts and online flag too.
 */
export async function viewStatus(configDir: string, timeoutMs = 2_000): Promise<StatusView> {
  const [hosts, mappings, live] = await Promise.all([
    viewServers(configDir, { timeoutMs }),
    viewMappings(configDir),
    viewLiveTunnels(configDir),
  ]);
  const own = mappings.filter((m) => m.kind !== 'visitor');
  const tunnels = await Promise.all(
    own.map(async (m): Promise<TunnelStatus> => {
      const t = live.tunnels.find((x) => x.name === m.name && x.pid === m.pid);
      const target = probeTarget(m);
      const reachable =
        m.state === 'active' && (t?.online ?? true) && (await accepts(target.host, target.port, timeoutMs));
      const serviceId = typeof m.serviceId === 'string' ? m.serviceId : m.name;
      return {
        name: m.name,
        type: m.kind === 'service' ? 'service' : m.protocol,
        local: formatAddress(m.localHost, m.localPort),
        public:
          m.kind === 'service' ? `service:${serviceId}` : m.publicPort ? formatAddress(m.publicHost, m.publicPort) : '',
        host: formatAddress(m.proxyHost, m.proxyControlPort),
        state: m.state,
        reachable,
        ...(t
          ? {
              live: {
                online: t.online,
                visitorsNow: t.visitorsNow,
                visitorsTotal: t.visitorsTotal,
                bytesIn: t.bytesIn,
                bytesOut: t.bytesOut,
              },
            }
          : {}),
      };
    }),
  );
  return { hosts, tunnels, errors: live.errors };
}
