import type { Duplex } from 'node:stream';
import { Flag, INITIAL_WINDOW } from './frame.js';
import { StreamFrames, type StreamHost } from './stream-frames.js';

/** Largest Data frame body sent: a socket read is at most 64 KB, so one chunk is one frame. */
const MAX_FRAME_BODY = 64 * 1024;
/** A socket both of whose directions have ended, still holding bytes its peer does not read. */
const LINGER_MS = 30_000;
/** Data bodies this large are written in a batch per poll phase (see onData). */
const CORK_MIN = 4 * 1024;
const hasWritev = (w: Duplex): boolean => typeof (w as { _writev?: unknown })._writev === 'function';
/** One function for every stream's end-of-phase flush, rather than a closure per stream. */
const uncork = (s: SocketStream): void => s.flushCorked();

/**
 * The socket's listeners are these shared functions, which find their stream on the socket, rather
 * than five closures per stream: an idle proxied connection costs a few hundred bytes less.
 */
const STREAM = Symbol('p2prc.socketStream');
/** Shared and never written: a stream's early buffers become an array of their own on the first push. */
const NO_BUFFERS: Buffer[] = [];
type Owned = Duplex & { [STREAM]: SocketStream };
function onSocketData(this: Owned, chunk: Buffer): void {
  this[STREAM].socketData(chunk);
}
function onSocketEnd(this: Owned): void {
  this[STREAM].socketEnded();
}
function onSocketDrain(this: Owned): void {
  this[STREAM].socketDrained();
}
function onSocketError(this: Owned): void {
  this[STREAM].socketFailed();
}
function onSocketClose(this: Owned): void {
  this[STREAM].socketClosed();
}

/**
 * A yamux stream wired straight to a socket, without a Duplex in between: the socket's chunks go out
 * as Data frames, and Data frames are written to the socket. Per visitor, Node's stream machinery
 * (a Duplex, two pipes, their end, finish and close ticks) was most of what a short connection cost a
 * hop. Flow control is yamux's: the socket is paused while the peer's window is shut, and window is
 * granted only once the socket has taken what was written (its 'drain'), in batches of half a window
 * that grow while the stream drains fast (StreamFrames.grant).
 *
 * Bytes that arrive before `attach` are kept for `takeEarly` (the peer's window bounds them); the
 * owner reads its header from them, then attaches the socket that carries the rest.
 */
export class SocketStream {
  sendWindow = INITIAL_WINDOW;
  /** Called when bytes arrive before a socket is attached. */
  onEarly: (() => void) | undefined;
  private readonly frames: StreamFrames;
  private socket: Duplex | undefined;
  private early: Buffer[] = NO_BUFFERS;
  private earlySize = 0;
  /** What the peer's window did not let go yet; the socket stays paused until it has gone. */
  private held: Buffer | undefined;
  private localEnded = false;
  private finSent = false;
  private finReceived = false;
  private resetReceived = false;
  private blocked = false;
  private corked = false;
  /** Paused because the shared connection is congested (not for the window: that is `held`). */
  private paused = false;
  private closed = false;
  /** The socket failed or was destroyed on purpose: what it left unsent is dropped with a reset. */
  private broken = false;
  /** The socket closed after ending its side; its last bytes still wait in `held` for the peer's window. */
  private socketGone = false;
  private linger: NodeJS.Timeout | undefined;
  /** Allocated on the first listener: most streams have one or none. */
  private closeListeners: (() => void)[] | undefined;

  constructor(
    readonly id: number,
    private readonly host: StreamHost,
    opening: boolean,
    window = INITIAL_WINDOW,
  ) {
    this.frames = new StreamFrames(id, host, opening, window);
  }

  get recvWindow(): number {
    return this.frames.recvWindow;
  }

  open(): void {
    this.frames.open();
  }

  get destroyed(): boolean {
    return this.closed;
  }

  /** Called once, when the stream is over (both ends done, reset, or its session gone). */
  once(_event: 'close', listener: () => void): this {
    if (this.closed) queueMicrotask(listener);
    else (this.closeListeners ??= []).push(listener);
    return this;
  }

  /** Sends bytes ahead of the socket's own (a header the other side reads before attaching). */
  write(b: Buffer): void {
    if (!this.closed) this.sendChunk(b);
  }

  /** The bytes received before `attach`, as one buffer, left in place. */
  peekEarly(): Buffer {
    if (this.early.length !== 1) this.early = [Buffer.concat(this.early, this.earlySize)];
    return this.early[0]!;
  }

  /** The bytes received before `attach`, taken: the owner hands back what it does not use to `attach`. */
  takeEarly(): Buffer {
    const all = this.peekEarly();
    this.early = NO_BUFFERS;
    this.earlySize = 0;
    return all;
  }

  get earlyLength(): number {
    return this.earlySize;
  }

  /** From now on this stream carries `socket`: the stream owns it and destroys it on every path. */
  attach(socket: Duplex, rest?: Buffer): void {
    this.socket = socket;
    this.onEarly = undefined;
    if (this.closed) return void socket.destroy();
    // A socket already gone never says 'close' again: the stream ends here instead of waiting for it.
    if (socket.destroyed) return this.finish();
    (socket as Owned)[STREAM] = this;
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('drain', onSocketDrain);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose); // said once; `once` would add a wrapper and its state per stream
    // Listening for 'data' lets a fresh socket flow: one whose window is already shut waits for it.
    if (this.held) socket.pause();
    const early = rest && rest.length > 0 ? [rest, ...this.early] : this.early;
    this.early = NO_BUFFERS;
    this.earlySize = 0;
    for (const b of early) if (!socket.write(b)) this.blocked = true;
    if (this.finReceived) socket.end();
    // A socket handed over paused (a detached frame channel) flows from here, as pipe() would make it.
    if (!this.held) socket.resume();
    this.grant();
  }

  onData(body: Buffer): void {
    this.frames.received(body.length);
    // Data after the peer's FIN breaks the protocol; it is dropped rather than written after end.
    if (body.length === 0 || this.finReceived || this.closed) return;
    if (!this.socket) {
      if (this.early === NO_BUFFERS) this.early = [];
      this.early.push(body);
      this.earlySize += body.length;
      this.onEarly?.();
      return;
    }
    // Bulk arrives in pieces (TLS gives 16 KB records, each its own 'data'): the pieces of one poll
    // phase leave in one writev instead of a syscall each. Only a socket has a writev: an in-memory pair
    // writes chunk by chunk anyway, and would see its chunks a poll phase later.
    if (body.length >= CORK_MIN && !this.corked && hasWritev(this.socket)) {
      this.corked = true;
      this.socket.cork();
      setImmediate(uncork, this);
    }
    if (!this.socket.write(body)) this.blocked = true;
    else this.grant();
  }

  /** The poll phase is over: what it wrote leaves (see onData). */
  flushCorked(): void {
    this.corked = false;
    this.socket?.uncork();
  }

  onWindowUpdate(flags: number, delta: number): void {
    this.sendWindow += delta;
    if (delta > 0 && this.held && !this.closed) {
      const b = this.held;
      this.held = undefined;
      this.sendChunk(b);
      if (!this.held) {
        if (!this.paused) this.socket?.resume();
        if (this.localEnded) this.sendFin();
        if (this.socketGone) this.finish();
      }
    }
    this.onFlags(flags);
  }

  onFlags(flags: number): void {
    if (flags & Flag.RST) {
      this.resetReceived = true;
      return this.destroy();
    }
    if (flags & Flag.FIN && !this.finReceived) {
      this.finReceived = true;
      this.socket?.end();
      this.maybeDone();
    }
  }

  /** Ends the stream and its socket now (a reset from the peer, its session gone, or its owner giving up). */
  destroy(): void {
    this.broken = true;
    if (this.socket && !this.socketGone) return void this.socket.destroy(); // its 'close' finishes the job
    this.finish();
  }

  private sendChunk(chunk: Buffer): void {
    if (this.held) {
      this.held = Buffer.concat([this.held, chunk]);
      return;
    }
    for (let off = 0; off < chunk.length;) {
      if (this.sendWindow <= 0) {
        this.held = chunk.subarray(off);
        this.socket?.pause();
        return;
      }
      const n = Math.min(this.sendWindow, chunk.length - off, MAX_FRAME_BODY);
      this.sendWindow -= n;
      this.frames.data(chunk.subarray(off, off + n));
      off += n;
    }
  }

  /** @internal The socket's 'data'. */
  socketData(chunk: Buffer): void {
    if (this.closed) return;
    this.sendChunk(chunk);
    if (!this.paused && this.host.congested?.()) {
      this.paused = true;
      this.socket!.pause();
      this.host.whenDrained!(() => this.connectionDrained());
    }
  }

  /** @internal The shared connection drained after this stream paused for it. */
  connectionDrained(): void {
    this.paused = false;
    if (!this.held && !this.closed) this.socket?.resume();
  }

  /** @internal The socket's 'end'. */
  socketEnded(): void {
    this.localEnded = true;
    if (!this.held) this.sendFin();
  }

  /** @internal The socket's 'drain'. */
  socketDrained(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.grant();
  }

  /** @internal The socket's 'error'. */
  socketFailed(): void {
    this.broken = true;
    this.socket?.destroy();
  }

  /** @internal The socket's 'close'. */
  socketClosed(): void {
    if (this.held && this.localEnded && !this.broken) {
      // Both of the socket's directions ended (the peer's FIN ended ours) while its last bytes waited
      // for the peer's window: they still go, then the FIN, bounded in time like a lingering socket.
      this.socketGone = true;
      this.linger = setTimeout(() => ((this.broken = true), this.finish()), LINGER_MS);
      this.linger.unref();
      return;
    }
    this.finish();
  }

  private sendFin(): void {
    if (this.finSent || this.closed) return;
    this.finSent = true;
    this.frames.fin();
    this.maybeDone();
  }

  private grant(): void {
    if (!this.blocked && !this.closed && !this.finReceived) this.frames.grant();
  }

  private maybeDone(): void {
    if (!(this.finSent && this.finReceived)) return;
    this.host.forget(this.id);
    // Both directions are over; the socket closes once it has flushed, unless its peer stops reading.
    const s = this.socket;
    if (s && !s.destroyed && s.writableLength > 0 && !this.linger) {
      this.linger = setTimeout(() => s.destroy(), LINGER_MS);
      this.linger.unref();
    }
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.linger);
    if (!(this.finSent && this.finReceived) && !this.resetReceived) this.frames.reset();
    this.socket?.destroy(); // already closed on every path but a reset while its last bytes waited
    this.host.forget(this.id);
    this.frames.release();
    this.early = NO_BUFFERS;
    this.held = undefined;
    const listeners = this.closeListeners;
    this.closeListeners = undefined;
    for (const l of listeners ?? []) l();
  }
}
