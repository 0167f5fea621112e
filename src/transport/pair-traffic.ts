import type { PairEnd } from './pair.js';

/**
 * Visitors and bytes of a route served over in-memory connections (an http virtual host's requests):
 * counted once per connection, bytes read from the pair end's own counters when it closes and when a
 * live figure is asked for. No per-chunk listener.
 */
export class PairTraffic {
  connections = 0;
  private readonly live = new Set<PairEnd>();
  private closedIn = 0;
  private closedOut = 0;

  /** `end` faces the tunnel's client: what it reads came in from the visitor, what it writes went out. */
  track(end: PairEnd): void {
    this.connections++;
    this.live.add(end);
    end.once('close', () => {
      this.live.delete(end);
      this.closedIn += end.bytesRead;
      this.closedOut += end.bytesWritten;
    });
  }

  get activeVisitors(): number {
    return this.live.size;
  }

  get bytesIn(): number {
    let n = this.closedIn;
    for (const e of this.live) n += e.bytesRead;
    return n;
  }

  get bytesOut(): number {
    let n = this.closedOut;
    for (const e of this.live) n += e.bytesWritten;
    return n;
  }
}

/** A tunnel whose visitors arrive as in-memory connections: its counts, as the host's views read them. */
export abstract class PairCounted {
  protected readonly traffic = new PairTraffic();

  get connections(): number {
    return this.traffic.connections;
  }

  get activeVisitors(): number {
    return this.traffic.activeVisitors;
  }

  get bytesIn(): number {
    return this.traffic.bytesIn;
  }

  get bytesOut(): number {
    return this.traffic.bytesOut;
  }
}
