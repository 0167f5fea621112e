import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { P2prcError } from '../errors.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from '../protocol/backoff.js';
import { parseFingerprint } from '../transport/cert.js';

export interface TunnelSpec {
  /** Name shown on the host and in records. */
  name: string;
  /** Where visitors' connections go on this side. Default 127.0.0.1. */
  localHost?: string;
  /** Port of the local service. Omit when `listen` is given: the port is then negotiated. */
  localPort?: number;
  /**
   * tcp (default), udp, http (routed by Host header on the host's vhost port; needs `domain`) or https
   * (TLS routed by its server name on the host's HTTPS vhost port, never decrypted; needs `domain`).
   */
  protocol?: 'tcp' | 'udp' | 'http' | 'https';
  /** For http and https: the domain to claim, or a bare name for <name>.<the host's subdomain host>. */
  domain?: string;
  /** Requested public port, or "any" (default). */
  remotePort?: number | 'any';
  /**
   * Starts the local service on a port free on both sides; called with each candidate the host
   * offers until one binds. Must throw a P2prcError E_PORT_TAKEN when the port is busy locally.
   */
  listen?: (port: number) => Promise<void>;
}

/** A private service offered by ID: no public port, reachable only by visitors holding `secret`. */
export interface ServiceSpec {
  id: string;
  description?: string;
  secret: string;
  localHost?: string;
  localPort: number;
  /** Binds the ID to its owner across disconnects (32 random bytes, hex); the host keeps only its hash. */
  ownerKey?: string;
}

export interface ConnectOptions {
  host: string;
  /** Control port. Default 7000. */
  port?: number;
  token: string;
  tls?: boolean;
  /** Pinned certificate fingerprint of the host; a mismatch is refused with E_TLS. */
  fingerprint?: string;
  tunnels: TunnelSpec[];
  services?: ServiceSpec[];
  /** An account on the host, for hosts that require one to list or visit services. */
  user?: { name: string; password: string };
  /** Stable identity, so the host gives this client its ports back after a reconnect. */
  clientId?: string;
  name?: string;
  heartbeatMs?: number;
  connectTimeoutMs?: number;
  /** Pre-opened data connections kept idle on the host. Default 8. */
  poolSize?: number;
  backoff?: Partial<BackoffOptions>;
  /** Give up after this many failed attempts in a row. Default: never. */
  maxRetries?: number;
  /** Fail on the first failed login of any kind instead of retrying. */
  exitOnLoginFailure?: boolean;
  /** Gather direct-path candidates on this address only (loopback tests); default: every interface. */
  directBind?: string;
  signal?: AbortSignal;
}

export interface ResolvedConnectOptions extends Required<
  Omit<ConnectOptions, 'fingerprint' | 'signal' | 'backoff' | 'services' | 'user' | 'directBind'>
> {
  directBind: string | undefined;
  user: { name: string; password: string } | undefined;
  services: ServiceSpec[];
  fingerprint: string | undefined;
  backoff: BackoffOptions;
  signal: AbortSignal | undefined;
}

export function resolveConnectOptions(o: ConnectOptions): ResolvedConnectOptions {
  if (!o.host) throw new P2prcError('E_USAGE', 'option host must not be empty');
  if (!o.token) throw new P2prcError('E_USAGE', 'option token must not be empty');
  const port = o.port ?? 7000;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new P2prcError('E_USAGE', `option port must be 1-65535, got ${port}`);
  for (const s of o.services ?? []) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(s.id))
      throw new P2prcError('E_USAGE', `service id "${s.id}" must be 1-64 of A-Z a-z 0-9 _ . -`);
    if (!s.secret) throw new P2prcError('E_USAGE', `service ${s.id} needs a secret`);
  }
  const names = new Set<string>();
  for (const t of o.tunnels) {
    if (names.has(t.name)) throw new P2prcError('E_USAGE', `duplicate tunnel name "${t.name}"`);
    names.add(t.name);
    if (t.protocol === 'udp' && t.listen)
      throw new P2prcError('E_USAGE', `tunnel ${t.name}: UDP tunnels need a localPort`);
    if ((t.protocol === 'http' || t.protocol === 'https') && (!t.domain || t.localPort === undefined))
      throw new P2prcError('E_USAGE', `tunnel ${t.name}: ${t.protocol} tunnels need a domain and a localPort`);
    if (t.localPort === undefined && !t.listen)
      throw new P2prcError('E_USAGE', `tunnel ${t.name} needs localPort or listen`);
    const r = t.remotePort;
    if (r !== undefined && r !== 'any' && (!Number.isInteger(r) || r < 1 || r > 65535)) {
      throw new P2prcError('E_USAGE', `tunnel ${t.name}: remote port must be 1-65535 or "any", got ${r}`);
    }
  }
  return {
    host: o.host,
    port,
    token: o.token,
    tls: o.tls ?? true,
    fingerprint: parseFingerprint(o.fingerprint),
    tunnels: o.tunnels,
    services: o.services ?? [],
    user: o.user,
    clientId: o.clientId ?? randomBytes(12).toString('hex'),
    name: o.name ?? os.hostname(),
    heartbeatMs: o.heartbeatMs ?? 10_000,
    connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
    poolSize: o.poolSize ?? 8,
    backoff: { ...DEFAULT_BACKOFF, ...o.backoff },
    maxRetries: o.maxRetries ?? Number.POSITIVE_INFINITY,
    exitOnLoginFailure: o.exitOnLoginFailure ?? false,
    directBind: o.directBind,
    signal: o.signal,
  };
}
