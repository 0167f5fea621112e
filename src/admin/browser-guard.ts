import { createHash } from 'node:crypto';
import os from 'node:os';
import { DASHBOARD_HTML, LOGIN_HTML } from './pages.js';

/** The sha256 CSP source of each inline `<tag>` body in `html`. */
function inlineHashes(html: string, tag: 'script' | 'style'): string[] {
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g');
  return [...html.matchAll(re)].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
}

/**
 * Sent on every response. The pages' own inline script and style are allowed by hash (the login page
 * writes the dashboard into itself, so both pages' hashes are in one policy); nothing else inline runs,
 * nothing loads from elsewhere, and no page may frame the admin (clickjacking).
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': [
    "default-src 'self'",
    `script-src ${[...inlineHashes(DASHBOARD_HTML, 'script'), ...inlineHashes(LOGIN_HTML, 'script')].join(' ')}`,
    `style-src ${[...inlineHashes(DASHBOARD_HTML, 'style'), ...inlineHashes(LOGIN_HTML, 'style')].join(' ')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; '),
  'x-frame-options': 'DENY',
};

/**
 * True when the Host header names this server: a localhost name, the bound address, or (bound to every
 * address) one of this machine's. A DNS-rebinding page reaches the server under its own domain name,
 * so its Host is refused; over TLS the certificate already fails such a name, and the operator may use
 * a DNS name of their own, so the check is for plain HTTP.
 */
export function hostAllowed(host: string | undefined, bind: string): boolean {
  if (!host) return false;
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d{1,5})?$/.exec(host);
  if (!m) return false;
  const name = m[1]!.replace(/^\[|\]$/g, '').toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost') || name === '127.0.0.1' || name === '::1') return true;
  if (name === bind.toLowerCase()) return true;
  if (bind === '0.0.0.0' || bind === '::')
    return Object.values(os.networkInterfaces()).some((list) =>
      (list ?? []).some((a) => a.address.toLowerCase() === name),
    );
  return false;
}
