import type { LogFn } from '../log/logger.js';
import type { PortPolicy } from './ports.js';
import type { HostedTunnel } from './tunnel.js';

export interface ReservationOptions {
  policy: PortPolicy;
  graceMs: number;
  log: LogFn;
  /** A tunnel's port was given up for good. */
  released(tunnel: HostedTunnel): void;
}

/**
 * Public ports of clients that went away, kept bound and reserved for them until their grace period
 * ends, so a client that reconnects (native or frp) gets the same ports back and nobody else can
 * take them meanwhile.
 */
export class Reservations {
  /** Per owner, keyed "tcp/6000": TCP and UDP ports are separate spaces. */
  private readonly reserved = new Map<string, Map<string, HostedTunnel>>();
  /** When each held slot's grace ends, to tell another client how long it has to wait. */
  private readonly until = new Map<string, number>();

  constructor(private readonly o: ReservationOptions) {}

  /** Keeps a lost client's public port bound and reserved for it until the grace period ends. */
  hold(owner: string, tunnel: HostedTunnel, label: string): void {
    tunnel.sink = undefined;
    let mine = this.reserved.get(owner);
    if (!mine) this.reserved.set(owner, (mine = new Map()));
    const own = mine;
    const slot = `${tunnel.protocol}/${tunnel.port}`;
    own.set(slot, tunnel);
    this.until.set(slot, Date.now() + this.o.graceMs);
    tunnel.graceTimer = setTimeout(() => {
      if (own.get(slot) !== tunnel) return;
      own.delete(slot);
      this.until.delete(slot);
      if (own.size === 0) this.reserved.delete(owner);
      this.o.log('info', `grace period over: port ${tunnel.port} of ${label} released`);
      this.release(tunnel);
    }, this.o.graceMs);
    tunnel.graceTimer.unref();
  }

  /** The owner is back: its reserved port, if it has one, is handed back with the grace timer stopped. */
  take(owner: string, port: number, protocol: 'tcp' | 'udp'): HostedTunnel | undefined {
    const mine = this.reserved.get(owner);
    const tunnel = mine?.get(`${protocol}/${port}`);
    if (!tunnel) return undefined;
    mine!.delete(`${protocol}/${port}`);
    if (mine!.size === 0) this.reserved.delete(owner);
    this.until.delete(`${protocol}/${port}`);
    clearTimeout(tunnel.graceTimer);
    return tunnel;
  }

  /**
   * The owner is back and asks for "any" port for a tunnel it had: the port its tunnel of that name
   * held, so a client restarted after a crash keeps its public addresses as it does fixed ports.
   */
  takeNamed(owner: string, name: string, protocol: 'tcp' | 'udp'): HostedTunnel | undefined {
    const held = this.heldNamed(owner, name, protocol);
    return held && this.take(owner, held.port, protocol);
  }

  heldNamed(owner: string, name: string, protocol: 'tcp' | 'udp'): HostedTunnel | undefined {
    for (const t of this.reserved.get(owner)?.values() ?? []) if (t.name === name && t.protocol === protocol) return t;
    return undefined;
  }

  /** Whether `port` is held for `owner` (a reclaim, which no quota refuses). */
  isHeldFor(owner: string, port: number, protocol: 'tcp' | 'udp'): boolean {
    return this.reserved.get(owner)?.has(`${protocol}/${port}`) ?? false;
  }

  /** Seconds left before `port`, held for a client other than `owner`, is released; undefined when it is not. */
  secondsHeldFor(port: number, protocol: 'tcp' | 'udp', owner: string): number | undefined {
    const slot = `${protocol}/${port}`;
    const end = this.until.get(slot);
    if (end === undefined || this.reserved.get(owner)?.has(slot)) return undefined;
    return Math.max(1, Math.ceil((end - Date.now()) / 1000));
  }

  /** Closes a tunnel's port and frees it in the policy. */
  release(tunnel: HostedTunnel): void {
    tunnel.close();
    this.o.policy.release(tunnel.port, tunnel.clientId, tunnel.protocol);
    this.o.released(tunnel);
  }

  *tunnels(): Iterable<HostedTunnel> {
    for (const m of this.reserved.values()) yield* m.values();
  }

  get count(): number {
    let n = 0;
    for (const m of this.reserved.values()) n += m.size;
    return n;
  }

  /** Host shutdown: every reserved port is released now. */
  close(): void {
    for (const t of [...this.tunnels()]) this.release(t);
    this.reserved.clear();
    this.until.clear();
  }
}
