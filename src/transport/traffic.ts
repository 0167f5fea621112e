import type net from 'node:net';
import type { Duplex } from 'node:stream';

/** A connection whose own counters give its bytes: a socket, or an in-memory pair end (transport/pair.ts). */
export type CountedConnection = Duplex & { readonly bytesRead: number; readonly bytesWritten: number };

/** Anything that says once when it is over: a Duplex, or a yamux stream wired to a socket. */
export interface Closable {
  once(event: 'close', listener: () => void): unknown;
}

const COUNTER = Symbol('p2prc.trafficCounter');
type Tracked = CountedConnection & { [COUNTER]: TrafficCounter };
function onTrackedClose(this: Tracked): void {
  this[COUNTER].untrack(this);
}

/** One visitor counted by `TrafficCounter.visitor`; its bytes are read from the local socket once it is up. */
export interface CountedVisit {
  local(socket: net.Socket): void;
}

/**
 * Connections and bytes of one tunnel, without touching the data path: a connection is counted
 * once when it starts, and its bytes are read from a socket's own `bytesRead`/`bytesWritten`
 * counters, when it closes and whenever a live figure is asked for. No per-chunk listener.
 */
export class TrafficCounter {
  /** Connections ever tracked. */
  total = 0;
  /** Visitor-facing connections (the host's public side), so their owner can also close them. */
  readonly live = new Set<CountedConnection>();
  /** Visitors arriving as streams or raw data connections, live until they close, with their local socket once up. */
  private readonly visits = new Map<Closable, net.Socket | undefined>();
  private closedIn = 0;
  private closedOut = 0;

  /** `socket` faces the visitor's side: what it reads came in, what it writes went out. */
  track(socket: CountedConnection): void {
    this.total++;
    this.live.add(socket);
    // A shared listener that finds this counter on the socket: no closure (nor `once` wrapper) per visitor.
    (socket as Tracked)[COUNTER] = this;
    socket.on('close', onTrackedClose);
  }

  /** @internal A tracked connection closed: its bytes move to the closed totals. */
  untrack(socket: CountedConnection): void {
    if (!this.live.delete(socket)) return;
    this.closedIn += socket.bytesRead;
    this.closedOut += socket.bytesWritten;
  }

  /**
   * A visitor that arrived on `data` (a raw data connection or a yamux stream, whose counters would
   * include framing or do not exist): counted now, live until `data` closes; its bytes come from the
   * local service's socket once `local` is given.
   */
  visitor(data: Closable): CountedVisit {
    this.total++;
    this.visits.set(data, undefined);
    // One listener per visitor: its local socket is over by the time `data` closes (the stream or relay
    // destroys it), so its final counts are read then.
    data.once('close', () => {
      const socket = this.visits.get(data);
      this.visits.delete(data);
      if (!socket) return;
      this.closedIn += socket.bytesWritten;
      this.closedOut += socket.bytesRead;
    });
    return new Visit(this.visits, data);
  }

  get now(): number {
    return this.live.size + this.visits.size;
  }

  get bytesIn(): number {
    let n = this.closedIn;
    for (const s of this.live) n += s.bytesRead;
    for (const s of this.visits.values()) n += s?.bytesWritten ?? 0;
    return n;
  }

  get bytesOut(): number {
    let n = this.closedOut;
    for (const s of this.live) n += s.bytesWritten;
    for (const s of this.visits.values()) n += s?.bytesRead ?? 0;
    return n;
  }
}

class Visit implements CountedVisit {
  constructor(
    private readonly visits: Map<Closable, net.Socket | undefined>,
    private readonly data: Closable,
  ) {}

  local(socket: net.Socket): void {
    if (this.visits.has(this.data)) this.visits.set(this.data, socket);
  }
}

/** A tunnel's visitors and bytes as the host's views read them, from its TrafficCounter. */
export abstract class CountedTunnel {
  readonly traffic = new TrafficCounter();

  get activeVisitors(): number {
    return this.traffic.now;
  }

  get connections(): number {
    return this.traffic.total;
  }

  /** Live: includes the bytes of visitors still connected (read from their connections on demand). */
  get bytesIn(): number {
    return this.traffic.bytesIn;
  }

  get bytesOut(): number {
    return this.traffic.bytesOut;
  }
}
