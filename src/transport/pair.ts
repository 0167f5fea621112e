import { Duplex } from 'node:stream';

/** Where an in-memory connection says it comes from, as a socket would (sinks log and forward these). */
export interface PairAddress {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
  localAddress?: string | undefined;
  localPort?: number | undefined;
}

/**
 * One end of an in-memory connection. Writes become the peer's reads, with backpressure: a write's
 * callback waits until the peer's reader wants more. end() is the peer's EOF (half-close carried, as
 * over TCP); destroy() takes the peer down too. It is a VisitorStream (pairing-pool.ts): sinks take it
 * as they take a visitor's socket.
 */
export class PairEnd extends Duplex {
  peer!: PairEnd;
  private pendingWrite: (() => void) | undefined;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  /** Like a socket's counters: what this end took in from its peer, and gave to it (traffic views read them at close). */
  bytesRead = 0;
  bytesWritten = 0;

  constructor(address: PairAddress) {
    super({ allowHalfOpen: true });
    Object.assign(this, address);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.peer.destroyed) return done(new Error('peer closed'));
    this.bytesWritten += chunk.length;
    this.peer.bytesRead += chunk.length;
    if (this.peer.push(chunk)) done();
    else this.peer.pendingWrite = done; // the peer's buffer is full: resume when it is read from
  }

  override _read(): void {
    const fn = this.pendingWrite;
    this.pendingWrite = undefined;
    fn?.();
  }

  override _final(done: (err?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    const fn = this.pendingWrite;
    this.pendingWrite = undefined;
    fn?.();
    if (!this.peer.destroyed) this.peer.destroy();
    done(err);
  }
}

/** Two connected ends: [a, b]; `aAddress` is what a reports as its remote (the visitor's address). */
export function duplexPair(aAddress: PairAddress = {}, bAddress: PairAddress = {}): [PairEnd, PairEnd] {
  const a = new PairEnd(aAddress);
  const b = new PairEnd(bAddress);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
