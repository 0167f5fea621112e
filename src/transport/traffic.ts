import type net from 'node:net';
import type { Duplex } from 'node:stream';

/** A connection whose own counters give its bytes: a socket, or an in-memory pair end (transport/pair.ts). */
export type CountedConnection = Duplex & { readonly bytesRead: number; readonly bytesWritten: number };

/** Anything that says once when it is over: a Duplex, or a yamux stream wired to a socket. */
export interface Closable {
  once(event: 'close', listener: () => void): unknown;
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
  /** Visitors arriving as streams (a client's multiplexed data connection), live until they close. */
  private readonly streams = new Set<Closable>();
  /** Sockets to the local service: what they write came in from a visitor, what they read went out. */
  private readonly locals = new Set<net.Socket>();
  private closedIn = 0;
  private closedOut = 0;

  /** `socket` faces the visitor's side: what it reads came in, what it writes went out. */
  track(socket: CountedConnection): void {
    this.total++;
    this.live.add(socket);
    socket.once('close', () => {
      this.live.delete(socket);
      this.closedIn += socket.bytesRead;
      this.closedOut += socket.bytesWritten;
    });
  }

  /**
   * A visitor that arrived on `data` (a raw data connection or a yamux stream, whose counters would
   * include framing or do not exist): counted now, live until `data` closes; its bytes come from the
   * local service's socket once `local` is given.
   */
  visitor(data: Closable): CountedVisit {
    this.total++;
    this.streams.add(data);
    data.once('close', () => this.streams.delete(data));
    return {
      local: (socket) => {
        this.locals.add(socket);
        socket.once('close', () => {
          this.locals.delete(socket);
          this.closedIn += socket.bytesWritten;
          this.closedOut += socket.bytesRead;
        });
      },
    };
  }

  get now(): number {
    return this.live.size + this.streams.size;
  }

  get bytesIn(): number {
    let n = this.closedIn;
    for (const s of this.live) n += s.bytesRead;
    for (const s of this.locals) n += s.bytesWritten;
    return n;
  }

  get bytesOut(): number {
    let n = this.closedOut;
    for (const s of this.live) n += s.bytesWritten;
    for (const s of this.locals) n += s.bytesRead;
    return n;
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
