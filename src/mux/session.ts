import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { P2prcError, toP2prcError } from '../errors.js';
import { Flag, FrameType, GoAwayCode, INITIAL_WINDOW, YamuxDecoder, encodeHeader, type YamuxFrame } from './frame.js';
import { YamuxStream } from './stream.js';
import { SocketStream } from './socket-stream.js';

/** What the session routes frames to: a Duplex stream, or one wired straight to a socket. */
type StreamEnd = YamuxStream | SocketStream;

/** A data frame body this large is written at once instead of waiting for the poll phase's batch. */
const BATCH_LIMIT = 16 * 1024;
const DEFAULT_MAX_BUFFERED = 4 * 1024 * 1024;

export interface YamuxOptions {
  /** Client sessions open odd stream ids, servers even ones. */
  client: boolean;
  /** Keepalive ping interval; 0 turns it off. A ping unanswered for 10 s closes the session. */
  keepaliveMs?: number;
  maxStreams?: number;
  /**
   * Bytes the connection may hold unsent before SocketStreams pause their sockets (default 4 MB). Windows
   * bound each stream, not their sum: a peer that grants window without reading would otherwise make
   * this side buffer every visitor's upload.
   */
  maxBuffered?: number;
  /** Called for a data frame of 16 KB or more, sent or received: the connection is carrying bulk. */
  onBulk?: () => void;
  /** Accept streams the peer opens (frps never opens any, so the frp client refuses them). */
  accept?: boolean;
  /** Receive window per stream (default and minimum: yamux's 256 KB); larger ones are announced on open. */
  window?: number;
  /**
   * How far a stream's receive window may grow while it drains fast (bulk; StreamFrames.grant), and what
   * all of this session's streams may grow by together. Unset: windows stay at `window`.
   */
  maxWindow?: number;
  windowBudget?: number;
  /** Streams the peer opens arrive as SocketStreams ('socketStream') instead of Duplexes ('stream'). */
  acceptSocketStreams?: boolean;
}

/**
 * A yamux session over one connection (hashicorp's wire format, as frp's tcp_mux uses it). Owns the
 * connection: any protocol error sends GoAway and destroys it together with every stream.
 */
export class YamuxSession extends EventEmitter<{
  stream: [YamuxStream];
  socketStream: [SocketStream];
  close: [P2prcError | undefined];
}> {
  private readonly streams = new Map<number, StreamEnd>();
  private nextId: number;
  private readonly decoder: YamuxDecoder;
  private closed = false;
  private keepalive: NodeJS.Timeout | undefined;
  private pingId = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly o: YamuxOptions;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private waitingDrain: (() => void)[] = [];
  /** Receive window the session's streams were granted beyond `window` (bounded by `windowBudget`). */
  private grown = 0;

  constructor(
    private readonly conn: Duplex,
    o: YamuxOptions,
  ) {
    super();
    this.o = { ...o };
    this.nextId = o.client ? 1 : 2;
    this.decoder = new YamuxDecoder((id) => this.streams.get(id)?.recvWindow ?? INITIAL_WINDOW, true);
    conn.on('data', (chunk: Buffer) => this.receive(chunk));
    conn.on('error', (err) => this.close(toP2prcError(err, 'E_CLOSED')));
    conn.on('close', () => this.close());
    conn.on('end', () => this.close()); // half-open sockets: the peer's FIN ends the whole session
    conn.on('drain', () => this.drained());
    if (o.keepaliveMs) {
      this.keepalive = setInterval(() => this.ping(), o.keepaliveMs);
      this.keepalive.unref();
    }
  }

  private get maxStreams(): number {
    return this.o.maxStreams ?? 4096;
  }

  /** Raises (or lowers) the stream cap: a server keeps it tiny until the peer has authenticated. */
  setMaxStreams(n: number): void {
    this.o.maxStreams = n;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  openStream(): YamuxStream {
    return this.open((id) => new YamuxStream(id, this.streamHost, true, this.window));
  }

  /** A stream to be wired to a socket with `attach` (bytes written before it go out first). */
  openSocketStream(): SocketStream {
    return this.open((id) => new SocketStream(id, this.streamHost, true, this.window));
  }

  private open<S extends StreamEnd>(make: (id: number) => S): S {
    if (this.closed) throw new P2prcError('E_CLOSED', 'yamux session is closed');
    if (this.streams.size >= this.maxStreams) throw new P2prcError('E_QUOTA', 'too many yamux streams');
    const id = this.nextId;
    this.nextId += 2;
    const s = make(id);
    this.streams.set(id, s);
    s.open();
    return s;
  }

  private get window(): number {
    return Math.max(INITIAL_WINDOW, this.o.window ?? INITIAL_WINDOW);
  }

  private readonly streamHost = {
    send: (f: Buffer) => this.send(f),
    sendData: (h: Buffer, body: Buffer) => {
      if (this.closed || this.conn.destroyed) return;
      this.queue(h);
      this.queue(body);
      // Bulk fills a syscall on its own: holding it for the batch only keeps more bytes in memory.
      if (body.length >= BATCH_LIMIT) {
        this.flush();
        this.o.onBulk?.();
      }
    },
    header: encodeHeader,
    forget: (sid: number) => this.streams.delete(sid),
    congested: () => this.conn.writableLength + this.pendingBytes > (this.o.maxBuffered ?? DEFAULT_MAX_BUFFERED),
    whenDrained: (resume: () => void) => void this.waitingDrain.push(resume),
    growWindow: (from: number, by: number): boolean => {
      if (from + by > (this.o.maxWindow ?? 0) || this.grown + by > (this.o.windowBudget ?? 0)) return false;
      this.grown += by;
      return true;
    },
    releaseWindow: (by: number) => void (this.grown -= by),
  };

  private drained(): void {
    const waiting = this.waitingDrain;
    this.waitingDrain = [];
    for (const resume of waiting) resume();
  }

  get streamCount(): number {
    return this.streams.size;
  }

  private send(frame: Buffer): void {
    if (!this.closed && !this.conn.destroyed) this.queue(frame);
  }

  /**
   * Frames wait for the end of the event loop's poll phase and leave in one writev: with many streams
   * busy, the frames of every socket read in that phase share one syscall (and one TLS record).
   */
  private queue(b: Buffer): void {
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.pending.length === 1) setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    const out = this.pending;
    if (out.length === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.conn.destroyed) return;
    if (out.length === 1) return void this.conn.write(out[0]);
    this.conn.cork();
    for (const b of out) this.conn.write(b);
    this.conn.uncork();
  };

  private receive(chunk: Buffer): void {
    let frames: YamuxFrame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.goAway(GoAwayCode.ProtocolError);
      this.close(toP2prcError(err, 'E_PROTOCOL'));
      return;
    }
    for (const f of frames) this.handle(f);
  }

  private handle(f: YamuxFrame): void {
    if (f.type === FrameType.Ping) {
      if (f.flags & Flag.SYN) this.send(encodeHeader(FrameType.Ping, Flag.ACK, 0, f.length));
      else if (f.length === this.pingId) clearTimeout(this.pingTimer);
      return;
    }
    if (f.type === FrameType.GoAway) {
      this.close(
        f.length === GoAwayCode.Normal
          ? undefined
          : new P2prcError('E_PROTOCOL', `yamux: peer went away with code ${f.length}`),
      );
      return;
    }
    let s = this.streams.get(f.streamId);
    if (!s && f.flags & Flag.SYN) {
      if (this.streams.size >= this.maxStreams) {
        // Every accepted stream may buffer a whole window: past the cap the peer is misbehaving (or not yet
        // trusted, see setMaxStreams), and the whole session goes rather than a growing pile of refusals.
        this.goAway(GoAwayCode.ProtocolError);
        this.close(new P2prcError('E_QUOTA', `yamux: more than ${this.maxStreams} streams`));
        return;
      }
      if (!this.o.accept) {
        this.send(encodeHeader(FrameType.WindowUpdate, Flag.RST, f.streamId, 0));
        return;
      }
      s = this.accepted(f.streamId);
    }
    if (!s) return; // late frames for a stream we already forgot
    if (f.type === FrameType.Data) {
      if (f.length >= BATCH_LIMIT) this.o.onBulk?.();
      s.onData(f.body ?? Buffer.alloc(0));
      s.onFlags(f.flags);
    } else {
      s.onWindowUpdate(f.flags, f.length);
    }
  }

  private accepted(id: number): StreamEnd {
    const s = this.o.acceptSocketStreams
      ? new SocketStream(id, this.streamHost, false, this.window)
      : new YamuxStream(id, this.streamHost, false, this.window);
    this.streams.set(id, s);
    s.open(); // sends the ACK
    if (s instanceof SocketStream) this.emit('socketStream', s);
    else this.emit('stream', s);
    return s;
  }

  private ping(): void {
    this.pingId = (this.pingId + 1) >>> 0;
    this.send(encodeHeader(FrameType.Ping, Flag.SYN, 0, this.pingId));
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(
      () => this.close(new P2prcError('E_TIMEOUT', 'yamux keepalive: no ping reply within 10 s')),
      10_000,
    );
    this.pingTimer.unref();
  }

  private goAway(code: number): void {
    this.send(encodeHeader(FrameType.GoAway, 0, 0, code));
  }

  close(reason?: P2prcError): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepalive);
    clearTimeout(this.pingTimer);
    for (const s of this.streams.values()) s.destroy();
    this.streams.clear();
    this.flush(); // frames queued before the close (a GoAway) still leave, as they did before the batching
    this.waitingDrain = [];
    this.conn.destroy();
    this.emit('close', reason);
  }
}
