import { createHash, timingSafeEqual } from 'node:crypto';

/** Per-hop headers a proxy must not pass on (RFC 9110 §7.6.1), as Go's ReverseProxy drops them in frps. */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export interface ForwardOptions {
  /** Replaces the Host header (frp's host_header_rewrite). */
  rewriteHost?: string | undefined;
  /** Set on every request, replacing a header of the same name (frp's header_NAME). */
  headers?: Readonly<Record<string, string>> | undefined;
  /** The visitor's address, appended to X-Forwarded-For. */
  clientIp?: string | undefined;
  /** For an upgrade (WebSocket): the Upgrade value kept, with Connection: Upgrade. */
  upgrade?: string | undefined;
}

/**
 * The headers a request is forwarded with, from the visitor's raw header list (name, value, name,
 * value...): hop-by-hop ones and those the Connection header names dropped, Host rewritten, configured
 * headers set, X-Forwarded-For extended. Order and case of the others are kept. Pure.
 */
export function forwardHeaders(raw: readonly string[], o: ForwardOptions): string[] {
  const named = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection')
      for (const t of raw[i + 1]!.split(',')) named.add(t.trim().toLowerCase());
  }
  const replaced = new Set(Object.keys(o.headers ?? {}).map((k) => k.toLowerCase()));
  const out: string[] = [];
  let forwardedFor: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower) || replaced.has(lower)) continue;
    if (lower === 'x-forwarded-for') {
      forwardedFor = forwardedFor ? `${forwardedFor}, ${raw[i + 1]}` : raw[i + 1];
      continue;
    }
    if (lower === 'host' && o.rewriteHost) out.push(name, o.rewriteHost);
    else out.push(name, raw[i + 1]!);
  }
  for (const [k, v] of Object.entries(o.headers ?? {})) out.push(k, v);
  if (o.clientIp) out.push('X-Forwarded-For', forwardedFor ? `${forwardedFor}, ${o.clientIp}` : o.clientIp);
  else if (forwardedFor) out.push('X-Forwarded-For', forwardedFor);
  if (o.upgrade) out.push('Connection', 'Upgrade', 'Upgrade', o.upgrade);
  return out;
}

/** A response's headers for the visitor: hop-by-hop ones dropped (Node frames the body itself). Pure. */
export function responseHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2)
    if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  return out;
}

/**
 * frp's check: a route with a user or a password set needs `Authorization: Basic` with exactly both
 * (an empty password included); routes with neither are open. Compared in constant time. Pure.
 */
export function basicAuthOk(
  user: string | undefined,
  password: string | undefined,
  authorization: string | undefined,
): boolean {
  if (!user && !password) return true;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!, 'base64').toString('utf8');
  return sameSecret(given, `${user ?? ''}:${password ?? ''}`);
}

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** The path of a request target, origin-form ("/a?b") or absolute-form ("http://h/a?b"), without the query. Pure. */
export function requestPath(target: string): string {
  let t = target;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(t);
  if (scheme) t = t.slice(scheme[0].length) || '/';
  const q = t.search(/[?#]/);
  return q >= 0 ? t.slice(0, q) : t;
}

/** The Host a request addresses: the authority of an absolute-form target wins over the header, as in Go. Pure. */
export function requestHost(target: string, hostHeader: string | undefined): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(target);
  return m ? m[1]! : (hostHeader ?? '');
}

/** How a request's body is framed, or why it is refused (400): the one reading the proxy and the service share. */
export type BodyFraming = { chunked: boolean } | { error: string };

/**
 * A request's body framing from its raw header list. A proxy and the service behind it must agree on
 * where a body ends, or bytes of one request are taken for another (request smuggling, RFC 9112 §6.3):
 * so both Content-Length and Transfer-Encoding, a repeated one, or a Transfer-Encoding other than a
 * single `chunked` is refused, never guessed at. Pure.
 */
export function bodyFraming(raw: readonly string[]): BodyFraming {
  let te: string | undefined;
  let teCount = 0;
  let clCount = 0;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (lower === 'transfer-encoding') {
      teCount++;
      te = raw[i + 1]!;
    } else if (lower === 'content-length') clCount++;
  }
  if (teCount > 1) return { error: 'repeated Transfer-Encoding' };
  if (clCount > 1) return { error: 'repeated Content-Length' };
  if (teCount && clCount) return { error: 'both Content-Length and Transfer-Encoding' };
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked') return { error: 'unsupported Transfer-Encoding' };
  return { chunked: te !== undefined };
}
