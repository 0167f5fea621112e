import net from 'node:net';
import { P2prcError } from '../errors.js';

export interface HostPort {
  host: string;
  port: number;
}

/** Parses "ip", "ip:port", "[v6]:port" or "host:port"; the port defaults to `defaultPort`. */
export function parseHostPort(input: string, defaultPort: number, what = 'address'): HostPort {
  const text = input.trim();
  let host = text;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if (net.isIPv6(text)) {
    host = text;
  } else {
    const i = text.lastIndexOf(':');
    if (i >= 0) {
      host = text.slice(0, i);
      portText = text.slice(i + 1);
    }
  }
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!host || /\s|\//.test(host) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new P2prcError('E_USAGE', `invalid ${what} "${input}" (expected ip[:port], e.g. 203.0.113.10:7000)`);
  }
  return { host, port };
}

/** A host name by RFC 1123 (labels of 1-63 letters, digits and inner hyphens; 253 characters at most), or an IP literal. Pure. */
export function isHostNameOrIp(text: string): boolean {
  if (net.isIP(text)) return true;
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  return (
    name.length > 0 &&
    name.length <= 253 &&
    name.split('.').every((label) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label))
  );
}

/**
 * "--expose 3000", "3000:6000", "udp:5000[:6000]", "http:3000@example.com" or "https:3443@example.com",
 * each optionally named: "web=http:3000@example.com".
 */
export interface ExposeSpec {
  /** The tunnel's name (`name=` before the spec); without it one is derived from the spec. */
  name?: string;
  protocol: 'tcp' | 'udp' | 'http' | 'https';
  localPort: number;
  remotePort: number | 'any';
  /** http(s): the domain to claim on the host's HTTP (HTTPS) vhost port (a bare name: a subdomain of its subdomain host). */
  domain?: string;
}

/** Tunnel names: what Published lines, records, views and the admin API show. */
export const TUNNEL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export function parseExpose(input: string): ExposeSpec {
  const eq = input.indexOf('=');
  if (eq < 0) return parseUnnamedExpose(input);
  const name = input.slice(0, eq).trim();
  if (!TUNNEL_NAME.test(name))
    throw new P2prcError(
      'E_USAGE',
      `invalid tunnel name "${name}" in --expose "${input}" (1-64 letters, digits, -, _ or .)`,
    );
  return { name, ...parseUnnamedExpose(input.slice(eq + 1)) };
}

function parseUnnamedExpose(input: string): ExposeSpec {
  const vhost = /^(https?):(\d{1,5})@([A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?)$/.exec(input.trim());
  if (vhost) {
    const localPort = Number(vhost[2]);
    if (localPort < 1 || localPort > 65535)
      throw new P2prcError('E_USAGE', `invalid --expose "${input}" (local port out of range)`);
    return { protocol: vhost[1] as 'http' | 'https', localPort, remotePort: 'any', domain: vhost[3]!.toLowerCase() };
  }
  const m = /^(?:(tcp|udp):)?(\d{1,5})(?::(\d{1,5}))?$/.exec(input.trim());
  const localPort = m ? Number(m[2]) : NaN;
  const remotePort = m?.[3] !== undefined ? Number(m[3]) : 'any';
  if (!m || localPort < 1 || localPort > 65535 || (remotePort !== 'any' && (remotePort < 1 || remotePort > 65535))) {
    throw new P2prcError(
      'E_USAGE',
      `invalid --expose "${input}" (expected [<name>=]<local>[:<remote>], udp:<local>[:<remote>], http:<local>@<domain> or https:<local>@<domain>, e.g. 3000, db=3000:6000, web=http:3000@example.com)`,
    );
  }
  return { protocol: (m[1] as 'tcp' | 'udp' | undefined) ?? 'tcp', localPort, remotePort };
}
