import dgram from 'node:dgram';
import { once } from 'node:events';
import { P2prcError } from '../errors.js';
import { evictOne } from '../protocol/evict.js';
import type { VisitorSink } from '../transport/pairing-pool.js';

export const DEFAULT_UDP_IDLE_MS = 60_000;
/** Visitors one UDP tunnel remembers; past it one not seen lately is forgotten (sources are spoofable). */
export const DEFAULT_UDP_MAX_VISITORS = 4096;

/** The key a visitor's address is known by in `byKey`. */
const keyOf = (address: string, port: number): string => `${address}|${port}`;

interface Visitor {
  address: string;
  port: number;
  lastSeen: number;
  /** Seen since eviction last passed it over (protocol/evict.ts). */
  used: boolean;
}

/**
 * A public UDP port. Each visitor (address:port) gets a numeric id; datagrams travel to the client
 * over its control connection tagged with that id, boundaries intact, and replies come back the
 * same way. Idle visitors are forgotten after `idleMs`, and at most `maxVisitors` are remembered:
 * a UDP source address costs an attacker nothing to forge, so a new one past the cap evicts a visitor
 * not seen lately (second chance: a forged source that sent once goes before a live visitor) instead
 * of growing the maps.
 */
export class UdpTunnel {
  readonly protocol = 'udp' as const;
  sink: VisitorSink | undefined;
  graceTimer: NodeJS.Timeout | undefined;
  readonly createdAt = new Date();
  bytesIn = 0;
  bytesOut = 0;
  connections = 0;
  dropped = 0;
  /** Visitors forgotten to make room for a new one. */
  evicted = 0;
  private readonly byKey = new Map<string, number>();
  private readonly byId = new Map<number, Visitor>();
  private nextId = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    public tunnelId: string,
    readonly port: number,
    readonly socket: dgram.Socket,
    readonly clientId: string,
    public name: string,
    private readonly idleMs = DEFAULT_UDP_IDLE_MS,
    private readonly maxVisitors = DEFAULT_UDP_MAX_VISITORS,
  ) {
    socket.on('message', (msg, rinfo) => this.fromVisitor(msg, rinfo));
    socket.on('error', () => undefined); // ICMP unreachable and the like: UDP carries on
    this.sweeper = setInterval(() => this.sweep(), Math.max(1_000, Math.min(idleMs, 30_000)));
    this.sweeper.unref();
  }

  get activeVisitors(): number {
    return this.byId.size;
  }

  private fromVisitor(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (!this.sink?.sendDatagram) {
      this.dropped++;
      return;
    }
    const key = keyOf(rinfo.address, rinfo.port);
    let id = this.byKey.get(key);
    if (id === undefined) id = this.add(key, rinfo);
    else this.touch(this.byId.get(id)!);
    this.bytesIn += msg.length;
    if (!this.sink.sendDatagram(this, id, msg, rinfo)) this.dropped++;
  }

  private add(key: string, rinfo: dgram.RemoteInfo): number {
    const victim = this.byId.size >= this.maxVisitors ? evictOne(this.byId) : undefined;
    if (victim) {
      this.byKey.delete(keyOf(victim[1].address, victim[1].port)); // evictOne took it out of byId
      this.evicted++;
    }
    const id = (this.nextId = (this.nextId + 1) >>> 0);
    this.byKey.set(key, id);
    this.byId.set(id, { address: rinfo.address, port: rinfo.port, lastSeen: Date.now(), used: false });
    this.connections++;
    return id;
  }

  /** Per datagram: two field writes, no map operation (the old code allocated a record per datagram). */
  private touch(v: Visitor): void {
    v.lastSeen = Date.now();
    v.used = true;
  }

  private forget(id: number, v: Visitor): void {
    this.byId.delete(id);
    this.byKey.delete(keyOf(v.address, v.port));
  }

  /** The id a visitor address was given, for peers (frp) that name visitors by address. */
  idOf(address: string, port: number): number | undefined {
    return this.byKey.get(keyOf(address, port));
  }

  /** A reply from the client's side; unknown (expired) visitors are dropped and counted. */
  toVisitor(visitorId: number, data: Buffer): void {
    const v = this.byId.get(visitorId);
    if (!v) {
      this.dropped++;
      return;
    }
    this.touch(v);
    this.bytesOut += data.length;
    this.socket.send(data, v.port, v.address);
  }

  private sweep(): void {
    const cutoff = Date.now() - this.idleMs;
    for (const [id, v] of this.byId) if (v.lastSeen < cutoff) this.forget(id, v);
  }

  close(): void {
    clearTimeout(this.graceTimer);
    clearInterval(this.sweeper);
    this.sink = undefined;
    this.socket.close();
  }
}

/** Binds a UDP socket; EADDRINUSE becomes E_PORT_TAKEN (side host). */
export async function bindUdp(port: number, address: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: address.includes(':') ? 'udp6' : 'udp4' });
  socket.bind({ port, address, exclusive: true });
  const [err] = await Promise.race([once(socket, 'listening').then(() => [undefined]), once(socket, 'error')]);
  if (err) {
    socket.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new P2prcError('E_PORT_TAKEN', `UDP port ${port} is already in use on the host`, {
        details: { side: 'host', port },
      });
    if (code === 'EACCES')
      throw new P2prcError('E_PORT_DENIED', `no permission to bind UDP ${address}:${port}`, { details: { port } });
    throw new P2prcError('E_INTERNAL', `cannot bind UDP ${address}:${port}: ${(err as Error).message}`, { cause: err });
  }
  return socket;
}
