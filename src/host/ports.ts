import { P2prcError } from '../errors.js';
import { formatPortRanges, type PortRange } from '../protocol/address.js';

// The CLI and services still name these by their old home.

/** Where "any" picks from when the operator set no policy: above the privileged ports, below Linux's ephemeral range. */
export const DEFAULT_ANY_RANGE: PortRange = { start: 10000, end: 29999 };
/** Without --allow-ports, no port below this is handed out; --allow-ports must list lower ones explicitly. */
export const DEFAULT_LOWEST_PORT = 1024;

/**
 * Port policy and bookkeeping (pure; binding is the caller's job). A port is either free, held by a
 * live client, or reserved for a disconnected client during its grace period; only its owner may
 * take a reserved port back. Modeled on frp's server/ports/ports.go.
 */
export type PortProtocol = 'tcp' | 'udp';

export class PortPolicy {
  private readonly allow: PortRange[] | undefined;
  /** TCP and UDP ports are separate spaces (as in frp, whose tcp and udp proxies may share a number). */
  private readonly owners = new Map<string, string>();

  constructor(allow?: PortRange[]) {
    this.allow = allow && allow.length > 0 ? allow : undefined;
  }

  get ranges(): PortRange[] {
    return this.allow ?? [DEFAULT_ANY_RANGE];
  }

  isAllowed(port: number): boolean {
    // Without a policy, privileged ports stay the operator's (a root host must not hand out 80, 443, 25, 53).
    if (!this.allow) return port >= DEFAULT_LOWEST_PORT && port <= 65535;
    return this.allow.some((r) => port >= r.start && port <= r.end);
  }

  ownerOf(port: number, protocol: PortProtocol = 'tcp'): string | undefined {
    return this.owners.get(key(port, protocol));
  }

  /** Checks a specific port for `owner`; throws E_PORT_DENIED / E_PORT_TAKEN. */
  check(port: number, owner: string, protocol: PortProtocol = 'tcp'): void {
    if (!this.isAllowed(port)) {
      throw new P2prcError(
        'E_PORT_DENIED',
        `port ${port} is not allowed by the host (allowed: ${formatPortRanges(this.allow ?? [{ start: DEFAULT_LOWEST_PORT, end: 65535 }])})`,
        {
          details: { port, side: 'host' },
        },
      );
    }
    const current = this.owners.get(key(port, protocol));
    if (current !== undefined && current !== owner) {
      throw new P2prcError('E_PORT_TAKEN', `port ${port} is already taken on the host`, {
        details: { port, side: 'host' },
      });
    }
  }

  take(port: number, owner: string, protocol: PortProtocol = 'tcp'): void {
    this.check(port, owner, protocol);
    this.owners.set(key(port, protocol), owner);
  }

  release(port: number, owner: string, protocol: PortProtocol = 'tcp'): void {
    if (this.owners.get(key(port, protocol)) === owner) this.owners.delete(key(port, protocol));
  }

  countOwnedBy(owner: string): number {
    let n = 0;
    for (const o of this.owners.values()) if (o === owner) n++;
    return n;
  }

  /** Free ports in the policy, as many as asked, in random order (so clients do not collide on retries). */
  pickCandidates(
    count: number,
    exclude: ReadonlySet<number>,
    random: () => number = Math.random,
    protocol: PortProtocol = 'tcp',
  ): number[] {
    const ranges = this.ranges;
    const total = ranges.reduce((n, r) => n + (r.end - r.start + 1), 0);
    const picked = new Set<number>();
    // Random probing first; a full scan only when the space is nearly exhausted.
    for (let tries = 0; tries < count * 20 && picked.size < count; tries++) {
      const port = nth(ranges, Math.floor(random() * total));
      if (!this.owners.has(key(port, protocol)) && !exclude.has(port)) picked.add(port);
    }
    for (let i = 0; i < total && picked.size < count; i++) {
      const port = nth(ranges, i);
      if (!this.owners.has(key(port, protocol)) && !exclude.has(port)) picked.add(port);
    }
    return [...picked];
  }
}

function key(port: number, protocol: PortProtocol): string {
  return `${protocol}/${port}`;
}

function nth(ranges: PortRange[], index: number): number {
  let i = index;
  for (const r of ranges) {
    const size = r.end - r.start + 1;
    if (i < size) return r.start + i;
    i -= size;
  }
  return ranges[ranges.length - 1]!.end;
}
