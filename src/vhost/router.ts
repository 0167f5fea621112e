import { P2prcError } from '../errors.js';

/**
 * Virtual-host routing, as frps does it (utils/vhost/router.go and http.go at v0.31.2): a route is
 * a domain (exact, or `*.example.com`) and a location prefix ('' matches every path). A request goes to
 * the route of its Host (port stripped, case folded) with the longest location its path lies under
 * (`/login` takes `/login` and `/login/...`, not `/loginx`: frps's plain prefix would hand `/loginx`
 * to whoever claimed `/login`; a location ending in `/` is a plain prefix, '' takes every path);
 * when the exact host has none, `*.` wildcards are tried from the most specific to the least
 * (new.test.frp1.com -> *.test.frp1.com -> *.frp1.com), never for names of fewer than three labels.
 * The HTTPS vhost routes by a ClientHello's server name the same way, every route at location ''.
 * A domain belongs to the principal (owner) of its first route until its last route is gone: others
 * cannot add locations under it and so receive its visitors' credentials and forms. Pure.
 */
export class VhostRouter<T> {
  private readonly byDomain = new Map<string, Array<{ location: string; payload: T }>>();
  /** Who holds each domain with at least one route: the principal of its first claim. */
  private readonly owners = new Map<string, string>();

  /** `owner` is the claimant's principal: a domain takes routes of its holder only. */
  add(domain: string, location: string, payload: T, owner = ''): void {
    const key = normalizeDomain(domain);
    const list = this.byDomain.get(key) ?? [];
    const holder = this.owners.get(key);
    if (holder !== undefined && holder !== owner) {
      throw new P2prcError('E_CONFLICT', `router config conflict: ${domain} belongs to another client`);
    }
    if (list.some((r) => r.location === location)) {
      throw new P2prcError('E_CONFLICT', `router config conflict: ${domain}${location} is already routed`);
    }
    list.push({ location, payload });
    // Longest first, so the first prefix match is the longest one.
    list.sort((a, b) => b.location.length - a.location.length);
    this.byDomain.set(key, list);
    this.owners.set(key, owner);
  }

  /** Claims every domain x location for one payload, all or none (E_CONFLICT); returns the function that gives them back. */
  claim(domains: readonly string[], locations: readonly string[], payload: T, owner = ''): () => void {
    const done: Array<[string, string]> = [];
    try {
      for (const d of domains)
        for (const l of locations.length ? locations : ['']) {
          this.add(d, l, payload, owner);
          done.push([d, l]);
        }
    } catch (err) {
      for (const [d, l] of done) this.remove(d, l);
      throw err;
    }
    return () => done.forEach(([d, l]) => this.remove(d, l));
  }

  remove(domain: string, location: string): void {
    const key = normalizeDomain(domain);
    const list = this.byDomain.get(key)?.filter((r) => r.location !== location);
    if (list?.length) this.byDomain.set(key, list);
    else {
      this.byDomain.delete(key);
      this.owners.delete(key);
    }
  }

  /** The route for a request's Host header value and path, or undefined (the caller answers 404). */
  match(hostHeader: string, path: string): T | undefined {
    const host = hostOnly(hostHeader);
    const exact = this.lookup(host, path);
    if (exact !== undefined) return exact;
    const labels = host.split('.');
    // Bounded by the number of labels: each round drops one.
    while (labels.length >= 3) {
      labels[0] = '*';
      const found = this.lookup(labels.join('.'), path);
      if (found !== undefined) return found;
      labels.shift();
    }
    return undefined;
  }

  get size(): number {
    let n = 0;
    for (const list of this.byDomain.values()) n += list.length;
    return n;
  }

  private lookup(domain: string, path: string): T | undefined {
    return this.byDomain.get(domain)?.find((r) => underLocation(path, r.location))?.payload;
  }
}

/** Whether a path lies under a location: the location itself or below it as a path segment. Pure. */
export function underLocation(path: string, location: string): boolean {
  if (location === '' || location.endsWith('/')) return path.startsWith(location);
  return path === location || path.startsWith(`${location}/`);
}

export function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase();
}

/** The host part of a Host header: "[::1]:80" -> "::1", "Example.com:8080" -> "example.com". */
export function hostOnly(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : h;
  }
  const colon = h.indexOf(':');
  return colon >= 0 && h.indexOf(':', colon + 1) < 0 ? h.slice(0, colon) : h;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A host name a route may claim: RFC 1123 labels of at most 63 characters, at most 253 in all, and for
 * a custom domain one leading `*.` (frp's wildcard domains). Anything else would be a route no visitor's
 * Host reaches, or a name squatted in a form the owner's own checks never see. Pure.
 */
export function validDomain(domain: string, wildcard: boolean): boolean {
  const name = wildcard && domain.startsWith('*.') ? domain.slice(2) : domain;
  return domain.length <= 253 && name.split('.').every((l) => LABEL.test(l));
}

/**
 * The domains an frp http(s) proxy (or a native --expose http(s):PORT@NAME) claims: custom domains, plus
 * subdomain.subdomain_host. Refused as frps refuses them (v0.31.2 and later, config validation): a
 * custom domain under the subdomain host (those names are handed out as subdomains, one per proxy), and
 * a subdomain with `.` or `*` (`*` would take every unclaimed name under the subdomain host).
 */
export function claimedDomains(
  customDomains: readonly string[],
  subdomain: string | undefined,
  subdomainHost: string | undefined,
  kind: 'http' | 'https' = 'http',
): string[] {
  const out = customDomains.map((d) => normalizeDomain(d)).filter(Boolean);
  const host = subdomainHost && normalizeDomain(subdomainHost);
  for (const d of out) {
    if (!validDomain(d, true)) throw new P2prcError('E_USAGE', `custom domain [${d}] is not a valid host name`);
    if (host && d.endsWith(`.${host}`))
      throw new P2prcError('E_USAGE', `custom domain [${d}] should not belong to subdomain host [${host}]`);
  }
  if (subdomain) {
    if (!host)
      throw new P2prcError(
        'E_USAGE',
        'subdomain is not supported because this host has no subdomain host (--subdomain-host)',
      );
    if (subdomain.includes('.') || subdomain.includes('*'))
      throw new P2prcError('E_USAGE', `subdomain "${subdomain}": '.' and '*' are not supported in subdomain`);
    const name = `${normalizeDomain(subdomain)}.${host}`;
    if (!validDomain(name, false)) throw new P2prcError('E_USAGE', `subdomain "${subdomain}" is not a valid host name`);
    out.push(name);
  }
  if (out.length === 0) throw new P2prcError('E_USAGE', `an ${kind} proxy needs custom domains or a subdomain`);
  return out;
}
