import type { Duplex } from 'node:stream';

/**
 * A visitor's connection as the sinks, the pairing pool and the relay use it: a byte stream that says
 * where it comes from when it knows, as a socket does. A TCP socket is one; so is an in-memory pair end
 * (a vhost request, transport/pair.ts) or the plain stream inside an encrypted frp visitor connection,
 * which may not know an address.
 */
export interface VisitorStream extends Duplex {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
}

/**
 * Where a public tunnel hands its visitors: a native client session or a stock frpc's control. Both
 * pair each visitor with a work connection from a PairingPool.
 */
export interface VisitorSink {
  acceptVisitor(tunnel: { tunnelId: string; port: number }, visitor: VisitorStream): void;
  /** Forwards one datagram to the client; false when it had to be dropped (congestion). */
  sendDatagram?(
    tunnel: { tunnelId: string; name: string },
    visitorId: number,
    data: Buffer,
    from: { address: string; port: number },
  ): boolean;
}

export interface PairingLimits {
  /** Visitors that may wait for a work connection at once; one more is refused (closed) at once. */
  maxWaiting: number;
  /** How long a visitor may wait for a work connection before it is dropped. */
  waitMs: number;
}

export const DEFAULT_PAIRING_LIMITS: PairingLimits = { maxWaiting: 4096, waitMs: 10_000 };

export interface PairingHooks<T, V extends Duplex, W extends Duplex> {
  /** A visitor and a work connection met; from here on `pair` owns both. */
  pair(target: T, visitor: V, work: W): void;
  /** A visitor waited `waitMs` in vain; the pool has closed it. */
  expired?(target: T): void;
}

interface Waiter<T, V> {
  target: T;
  visitor: V;
  timer: NodeJS.Timeout;
  /** Removes the listeners the pool put on the visitor. */
  off: () => void;
}

/**
 * Pairs visitors with work connections (native data connections or frp work connections) pre-opened
 * by a client: idle work connections wait for visitors, or visitors wait, bounded in number and in
 * time, for work connections. The pool owns whatever waits in it; on pairing it removes exactly the
 * listeners it added and hands both sockets to `pair`.
 */
export class PairingPool<T, V extends Duplex, W extends Duplex> {
  /** Parked work connections, oldest first, each with the function that removes the pool's listeners. */
  private readonly idle = new Map<W, () => void>();
  private readonly waiting: Array<Waiter<T, V>> = [];
  private closed = false;

  constructor(
    private readonly limits: PairingLimits,
    private readonly hooks: PairingHooks<T, V, W>,
  ) {}

  get idleCount(): number {
    return this.idle.size;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** A fresh work connection: bound to the oldest live waiting visitor, or parked until one comes. */
  addWork(work: W): void {
    if (this.closed) return void work.destroy();
    if (!this.takeWaiting((target, visitor) => this.hooks.pair(target, visitor, work))) this.park(work);
  }

  /** Hands the oldest live waiting visitor to `take` (which now owns it); false when none is waiting. */
  takeWaiting(take: (target: T, visitor: V) => void): boolean {
    for (let w = this.waiting.shift(); w; w = this.waiting.shift()) {
      clearTimeout(w.timer);
      w.off();
      if (!w.visitor.destroyed) {
        take(w.target, w.visitor);
        return true;
      }
    }
    return false;
  }

  /** A visitor: paired with an idle work connection at once, queued, or refused when the queue is full. */
  addVisitor(target: T, visitor: V): 'paired' | 'waiting' | 'refused' {
    const work = this.closed ? undefined : this.takeIdle();
    if (work) {
      this.hooks.pair(target, visitor, work);
      return 'paired';
    }
    if (this.closed || this.waiting.length >= this.limits.maxWaiting) {
      visitor.destroy();
      return 'refused';
    }
    const onError = () => visitor.destroy();
    const onClose = () => this.remove(waiter);
    const waiter: Waiter<T, V> = {
      target,
      visitor,
      timer: setTimeout(() => {
        this.remove(waiter);
        visitor.destroy();
        this.hooks.expired?.(target);
      }, this.limits.waitMs),
      off: () => (visitor.off('error', onError), visitor.off('close', onClose)),
    };
    visitor.on('error', onError);
    visitor.once('close', onClose);
    this.waiting.push(waiter);
    return 'waiting';
  }

  private remove(waiter: Waiter<T, V>): void {
    const i = this.waiting.indexOf(waiter);
    if (i >= 0) this.waiting.splice(i, 1);
    clearTimeout(waiter.timer);
    waiter.off();
  }

  private park(work: W): void {
    const drop = () => {
      this.idle.get(work)?.();
      this.idle.delete(work);
    };
    const destroy = () => work.destroy();
    work.once('close', drop);
    work.on('error', destroy);
    // The client dropped a parked connection: nothing else may arrive before pairing.
    work.once('end', destroy);
    this.idle.set(work, () => (work.off('close', drop), work.off('error', destroy), work.off('end', destroy)));
    work.resume(); // keep reading so that an 'end' is seen
  }

  private takeIdle(): W | undefined {
    for (const [work, off] of this.idle) {
      this.idle.delete(work);
      off();
      work.pause();
      if (!work.destroyed) return work;
    }
    return undefined;
  }

  /** Closes everything still waiting in the pool; later arrivals are closed at once. */
  close(): void {
    this.closed = true;
    for (const [work, off] of this.idle) {
      off();
      work.destroy();
    }
    this.idle.clear();
    for (const w of this.waiting.splice(0)) {
      clearTimeout(w.timer);
      w.off();
      w.visitor.destroy();
    }
  }
}
