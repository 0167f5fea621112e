import { P2prcError } from '../../errors.js';
import { FrpHttpTunnel } from './http-tunnel.js';
import { duplexPair } from '../../transport/pair.js';
import type { VisitorSink } from '../../transport/pairing-pool.js';
import { principalOf } from '../../services/principal.js';
import { claimedDomains } from '../../vhost/router.js';
import type { FrpGroups } from './groups.js';
import type { FrpHttpsVhost, FrpPorts, FrpTunnel, FrpUdpTunnel, FrpVhost } from './ports.js';
import type { SecretProxies } from './secrets.js';
import { isUdpTunnel } from './udp.js';

/** What one registered frp proxy holds on the server, whatever its type; visitors are paired to it. */
export interface FrpProxy {
  readonly tunnelId: string;
  readonly name: string;
  /** The public port StartWorkConn reports (the vhost port for http and https, 0 for stcp). */
  readonly port: number;
  readonly encrypt: boolean;
  readonly compress: boolean;
  /** NewProxyResp's remote_addr: ":port" or the vhost addresses. */
  readonly remoteAddr: string;
  /** Holds a public port of its own (counts against the per-client quota). */
  readonly holdsPort: boolean;
  readonly udp: FrpUdpTunnel | undefined;
  /** The port owner's tunnel, for tcp and udp proxies (the admin views list it). */
  readonly tunnel?: FrpTunnel;
  /** Gives back what it holds; keepForGrace keeps a public port reserved for a client that was lost, not closed. */
  release(keepForGrace: boolean): void;
}

/** The server services frp proxies are built from. */
export interface FrpProxyServices<T extends FrpTunnel> {
  ports: FrpPorts<T>;
  groups: FrpGroups<T>;
  secrets: SecretProxies;
  vhost: FrpVhost | undefined;
  httpsVhost?: FrpHttpsVhost | undefined;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * Turns a NewProxy into what the server holds for it, by type: tcp (alone or in a `group`), udp, http
 * and https (routes on the vhost ports), stcp (a secret visitors present). Refusals are coded errors.
 */
export async function openFrpProxy<T extends FrpTunnel>(
  s: FrpProxyServices<T>,
  runId: string,
  body: Record<string, unknown>,
  sink: VisitorSink,
  held: number,
  remote?: string,
): Promise<FrpProxy> {
  const name = str(body.proxy_name);
  const type = str(body.proxy_type) || 'tcp';
  const remotePort = Number(body.remote_port ?? 0);
  const base = {
    tunnelId: `frp:${name}`,
    name,
    encrypt: body.use_encryption === true,
    compress: body.use_compression === true,
    udp: undefined,
  };
  if ((type === 'tcp' || type === 'udp') && !(Number.isInteger(remotePort) && remotePort >= 0 && remotePort <= 65535)) {
    throw new P2prcError('E_USAGE', `remote_port ${String(body.remote_port)} is not a port`);
  }
  if (type === 'tcp' && str(body.group)) {
    const target = { tunnelId: base.tunnelId, port: 0 };
    const joined = await s.groups.join(
      runId,
      str(body.group),
      str(body.group_key),
      remotePort,
      { name, sink, target },
      held,
    );
    target.port = joined.port;
    return {
      ...base,
      port: joined.port,
      remoteAddr: `:${joined.port}`,
      holdsPort: true,
      release: () => joined.leave(),
    };
  }
  if (type === 'tcp' || type === 'udp') {
    const tunnel = await s.ports.open({ runId, name, remotePort, sink, held, udp: type === 'udp', remote });
    return {
      ...base,
      tunnelId: tunnel.tunnelId,
      port: tunnel.port,
      remoteAddr: `:${tunnel.port}`,
      holdsPort: true,
      udp: isUdpTunnel(tunnel) ? tunnel : undefined,
      tunnel,
      release: (keep) => s.ports.close(runId, tunnel, keep),
    };
  }
  // Domains belong to a principal, as native clients' do: the frpc's address (frp's user is its own choice).
  const principal = remote === undefined ? `frp:${runId}` : principalOf(undefined, remote);
  if (type === 'http') return openHttp(s.vhost, base, body, sink, principal);
  if (type === 'https') return openHttps(s.httpsVhost, base, body, sink, principal);
  if (type === 'stcp') {
    const off = s.secrets.listen(name, str(body.sk), sink, { tunnelId: base.tunnelId, port: 0 });
    return { ...base, port: 0, remoteAddr: '', holdsPort: false, release: off };
  }
  throw new P2prcError('E_NOT_AVAILABLE', `proxy type [${type}] is not supported by this host`);
}

type ProxyBase = Pick<FrpProxy, 'tunnelId' | 'name' | 'encrypt' | 'compress' | 'udp'>;

/** frps's own refusal text when vhost_http_port (vhost_https_port) is not set. */
const noVhost = (scheme: 'http' | 'https') =>
  new P2prcError('E_NOT_AVAILABLE', `type [${scheme}] not support when vhost_${scheme}_port is not set`);

/** What http and https proxies share: the domains they claim, the tunnel the views list, the pool's target. */
function routed(
  base: ProxyBase,
  body: Record<string, unknown>,
  vhost: { port: number; subdomainHost: string | undefined },
  scheme: 'http' | 'https',
) {
  const subdomain = str(body.subdomain) || undefined;
  const domains = claimedDomains(strings(body.custom_domains), subdomain, vhost.subdomainHost, scheme);
  // frp's remote_addr: each domain, with the port unless it is the scheme's own.
  const remoteAddr = domains
    .map((d) => (vhost.port === (scheme === 'http' ? 80 : 443) ? d : `${d}:${vhost.port}`))
    .join(',');
  return {
    domains,
    remoteAddr,
    target: { tunnelId: base.tunnelId, port: vhost.port },
    tunnel: new FrpHttpTunnel(base.tunnelId, base.name, vhost.port, domains.join(','), scheme),
  };
}

/** An http proxy: its custom domains and subdomain, times its locations, routed on the vhost port. */
function openHttp(
  vhost: FrpVhost | undefined,
  base: ProxyBase,
  body: Record<string, unknown>,
  sink: VisitorSink,
  principal: string,
): FrpProxy {
  if (!vhost) throw noVhost('http');
  const { domains, remoteAddr, target, tunnel } = routed(base, body, vhost, 'http');
  const headers =
    typeof body.headers === 'object' && body.headers
      ? Object.fromEntries(Object.entries(body.headers).map(([k, v]) => [k, String(v)]))
      : undefined;
  const off = vhost.register(
    domains,
    strings(body.locations),
    {
      owner: `frp proxy [${base.name}]`,
      user: str(body.http_user) || undefined,
      password: str(body.http_pwd) || undefined,
      rewriteHost: str(body.host_header_rewrite) || undefined,
      headers,
      connect(visitor) {
        // One request's connection: an in-memory pair, whose far end the sink takes as a visitor.
        const [mine, theirs] = duplexPair({}, visitor);
        tunnel.track(theirs);
        sink.acceptVisitor(target, theirs);
        return mine;
      },
    },
    principal,
  );
  return { ...base, port: target.port, remoteAddr, holdsPort: false, tunnel, release: off };
}

/** An https proxy: its custom domains and subdomain, routed by server name; each connection goes whole to frpc. */
function openHttps(
  vhost: FrpHttpsVhost | undefined,
  base: ProxyBase,
  body: Record<string, unknown>,
  sink: VisitorSink,
  principal: string,
): FrpProxy {
  if (!vhost) throw noVhost('https');
  const { domains, remoteAddr, target, tunnel } = routed(base, body, vhost, 'https');
  const off = vhost.register(
    domains,
    {
      owner: `frp proxy [${base.name}]`,
      accept(visitor) {
        tunnel.track(visitor);
        sink.acceptVisitor(target, visitor);
      },
    },
    principal,
  );
  return { ...base, port: target.port, remoteAddr, holdsPort: false, tunnel, release: off };
}
