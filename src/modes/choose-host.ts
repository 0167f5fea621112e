import { readFile } from 'node:fs/promises';
import { addressOf, formatAddress } from '../protocol/address.js';
import { probeHost } from '../client/probe.js';
import { parseFingerprint } from '../transport/cert.js';
import {
  RecordStore,
  isPeerRecord,
  openConfig,
  readSecrets,
  sameFingerprint,
  updateConfig,
  updateSecrets,
  type ServerRecord,
} from '../store/index.js';
import { hostTokenPath } from './host-engines.js';
import { debugFailure } from '../log/debug.js';
import { askLentPort, lendingNodes } from './lent-port.js';

export interface Candidate {
  host: string;
  port: number;
  tls: boolean;
  fingerprint: string | undefined;
  token: string;
  latencyMs: number;
  reason: string;
  /** A P2PRC node's lent frp port (`port`), published through token-less with the frp-wire client. */
  lent?: true;
  /** Learned from a peer: a token refusal stands for the peer's other ports on this address. */
  peer?: true;
}

const REFUSAL_MEMORY_MS = 10 * 60_000;

function key(s: { address: string; controlPort: number }): string {
  return formatAddress(s.address, s.controlPort);
}

/** The token of a host running on this machine from the same config dir, if one does. */
export async function localHostToken(configDir: string): Promise<string | undefined> {
  const file = hostTokenPath(configDir);
  // No host runs here (the usual case): no local token to offer.
  return (
    (
      await readFile(file, 'utf8').catch(
        (e: unknown) => (debugFailure(`no local host token in ${file}`, e, 'E_CONFIG'), ''),
      )
    ).trim() || undefined
  );
}

/** A recent refusal by any port of `address`, as "address:port at time". */
function refusedAt(refusals: Record<string, string>, address: string): string | undefined {
  for (const [k, at] of Object.entries(refusals)) {
    if (Date.now() - Date.parse(at) >= REFUSAL_MEMORY_MS) continue;
    if (addressOf(k) === address) return `${k} at ${at}`;
  }
  return undefined;
}

/** Remembers that a host refused us, so automatic choice skips it for a while. */
export async function rememberRefusal(configDir: string, host: string, port: number): Promise<void> {
  await updateConfig(configDir, (config) =>
    config.set('refusals', { ...config.get('refusals'), [formatAddress(host, port)]: new Date().toISOString() }),
  );
}

/** --trust: the operator confirms host certificates (kept in secrets.json); a malformed one is E_USAGE. */
export async function rememberTrust(configDir: string, fingerprints: string[]): Promise<void> {
  const trust = fingerprints.map((t) => parseFingerprint(t, '--trust')!);
  if (trust.length === 0) return;
  await updateSecrets(configDir, (secrets) => {
    secrets.trustedFingerprints = [...new Set([...(secrets.trustedFingerprints ?? []), ...trust])];
  });
}

export interface RankOptions {
  /** Use the token a peer advertises for an open host (operator opt-in: --accept-peer-tokens). */
  acceptPeerTokens?: boolean;
}

/**
 * The token offered to a host, or why none is. A configured token may go to any p2prc host, one a
 * peer told us of included: the control handshake is a PAKE (protocol/control-pake.ts), so a host
 * without the token gets one online guess and nothing to test guesses against offline. A token a
 * peer advertises for an open host is used only on the operator's opt-in.
 */
export function tokenFor(
  s: ServerRecord,
  configured: string | undefined,
  o: RankOptions,
): { token?: string; why?: string } {
  const advertised = s.open === true && typeof s.token === 'string' ? s.token : undefined;
  if (advertised !== undefined && isPeerRecord(s) && o.acceptPeerTokens) return { token: advertised };
  if (configured) return { token: configured };
  if (advertised !== undefined) {
    return o.acceptPeerTokens
      ? { token: advertised }
      : { why: `open, but learned from peer ${s.source}: its advertised token is used only with --accept-peer-tokens` };
  }
  return { why: 'restricted and no token configured for it (--token, P2PRC_TOKEN or hostTokens in secrets.json)' };
}

/** A host whose certificate the operator confirmed (--trust) or pinned on a connection of their own. */
function confirmedHost(s: ServerRecord, trusted: string[], pin: string | undefined): boolean {
  return (
    !!s.fingerprint && (trusted.some((t) => sameFingerprint(t, s.fingerprint)) || sameFingerprint(pin, s.fingerprint))
  );
}

/**
 * Ranks the hosts in reverse_proxy_server.json for `--connect-reverse-proxy auto`: probes all in
 * parallel; prefers reachable, accepting, lower latency and spare ports; skips hosts that refused us
 * recently and restricted hosts we hold no token for. Says why for each.
 */
export async function rankHosts(
  configDir: string,
  explicitToken: string | undefined,
  timeoutMs = 1_500,
  exclude: string[] = [],
  o: RankOptions = {},
): Promise<{ ranked: Candidate[]; skipped: string[] }> {
  const servers = await new RecordStore(configDir).readServers();
  const secrets = await readSecrets(configDir);
  const hostTokens = secrets.hostTokens ?? {};
  const refusals = (await openConfig(configDir)).get('refusals') ?? {};
  const pins = secrets.fingerprints ?? {};
  const trusted = secrets.trustedFingerprints ?? [];
  const globalToken = secrets.token ?? (await localHostToken(configDir));
  const skipped: string[] = [];
  const usable: Array<{ s: ServerRecord; token: string }> = [];
  // Among hosts that answer alike, the operator's own and confirmed ones come first.
  const preferred = (s: ServerRecord) => !isPeerRecord(s) || confirmedHost(s, trusted, pins[key(s)]);
  for (const s of servers) {
    const k = key(s);
    if (exclude.includes(k)) continue;
    if (s.engine !== 'native') {
      skipped.push(`${k}: runs frp; automatic choice uses native hosts`);
      continue;
    }
    const refused = refusals[k];
    if (refused && Date.now() - Date.parse(refused) < REFUSAL_MEMORY_MS) {
      skipped.push(`${k}: refused us at ${refused}`);
      continue;
    }
    // A peer can advertise many ports of one address: each would be another online guess at the
    // token. One refusal from an address stands for all its peer-advertised ports.
    const sibling = isPeerRecord(s) ? refusedAt(refusals, s.address) : undefined;
    if (sibling) {
      skipped.push(`${k}: learned from a peer, and ${sibling} on the same address refused us`);
      continue;
    }
    const { token, why } = tokenFor(s, hostTokens[k] ?? explicitToken ?? globalToken, o);
    if (!token) {
      skipped.push(`${k}: ${why}`);
      continue;
    }
    usable.push({ s, token });
  }
  const probed = await Promise.all(
    usable.map(async ({ s, token }) => ({
      s,
      token,
      r: await probeHost(s.address, s.controlPort, { tls: s.tls, fingerprint: s.fingerprint ?? undefined, timeoutMs }),
    })),
  );
  const ranked: Array<Candidate & { score: number }> = [];
  for (const { s, token, r } of probed) {
    if (r.state !== 'alive') {
      skipped.push(`${key(s)}: ${r.state}${r.error ? ` (${r.error})` : ''}`);
      continue;
    }
    const full = s.acceptsClients === false;
    const free = typeof s.freePorts === 'number' ? s.freePorts : undefined;
    const score =
      (r.latencyMs ?? 0) +
      (preferred(s) ? 0 : 50) +
      (full ? 10_000 : 0) +
      (free === 0 ? 5_000 : 0) +
      (typeof s.clients === 'number' ? s.clients / 10 : 0);
    const reason = `answers in ${r.latencyMs} ms${typeof s.clients === 'number' ? `, ${s.clients} clients` : ''}${free !== undefined ? `, ${free} free ports` : ''}${full ? ', full' : ''}`;
    ranked.push({
      host: s.address,
      port: s.controlPort,
      tls: s.tls,
      fingerprint: s.fingerprint ?? r.fingerprint,
      token,
      latencyMs: r.latencyMs ?? 0,
      reason,
      score,
      ...(isPeerRecord(s) ? { peer: true as const } : {}),
    });
  }
  ranked.sort((a, b) => a.score - b.score);
  if (ranked.length === 0) ranked.push(...(await lentPorts(configDir, exclude, refusals, skipped)));
  return { ranked, skipped };
}

/**
 * The last resort: P2PRC (Go) nodes of the IP table that lend a token-less frp port (`NAT: false`,
 * `GET /FRPPort`), as a Go node escapes NAT. Nothing derived from a token goes to them.
 */
async function lentPorts(
  configDir: string,
  exclude: string[],
  refusals: Record<string, string>,
  skipped: string[],
): Promise<Array<Candidate & { score: number }>> {
  const asked = await Promise.all(
    (await lendingNodes(configDir)).map(async (n) => ({ n, port: await askLentPort(n) })),
  );
  return asked.flatMap(({ n, port }) => {
    const node = formatAddress(n.host, n.port);
    if (port === undefined) return (void skipped.push(`${node}: NAT false, but lends no frp port`), []);
    const k = formatAddress(n.host, port);
    const refused = refusals[k];
    if (exclude.includes(k) || (refused && Date.now() - Date.parse(refused) < REFUSAL_MEMORY_MS)) return [];
    const reason = `P2PRC node ${node} lends frp port ${port}; no host we hold a token for is usable, so publishing there without a token`;
    return [
      {
        host: n.host,
        port,
        tls: false,
        fingerprint: undefined,
        token: '',
        latencyMs: 0,
        reason,
        score: 0,
        lent: true as const,
      },
    ];
  });
}
