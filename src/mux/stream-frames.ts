import { Flag, FrameType, INITIAL_WINDOW } from './frame.js';

/** Half a window taken within this long after the last grant: the stream is bulk, its window doubles. */
const GROW_WITHIN_MS = 50;

/** What a stream needs from its session. */
export interface StreamHost {
  send(frame: Buffer): void;
  /** A header and its body in one writev, without joining them into a new buffer. */
  sendData(header: Buffer, body: Buffer): void;
  header(type: number, flags: number, streamId: number, length: number): Buffer;
  forget(streamId: number): void;
  /** The connection holds more unsent bytes than it should: sources pause until `whenDrained`. */
  congested?(): boolean;
  whenDrained?(resume: () => void): void;
  /** May a stream's receive window grow from `from` by `by` bytes? Reserves them in the session's budget. */
  growWindow?(from: number, by: number): boolean;
  /** A closed stream's growth goes back to the session's budget. */
  releaseWindow?(by: number): void;
}

/**
 * The frames one stream sends and its receive window, for both kinds of stream (a Duplex, or one wired
 * to a socket): SYN (or ACK) rides on the first frame, and a window above yamux's 256 KB is announced in
 * that first frame (a window update on SYN or ACK), as the spec allows.
 *
 * Window is granted back in batches of half a window, like the Go peer. A stream that took half its
 * window within GROW_WITHIN_MS of the previous grant doubles it in that grant, as far as the session
 * allows (`growWindow`): with two cores shared by four busy processes, one descheduled for a few ms
 * left a 2 MB window empty and the sender idle. A reader that stops taking bytes is granted nothing,
 * so its window stops growing.
 */
export class StreamFrames {
  /** What the peer may still send: the session's decoder holds it to this. */
  recvWindow: number;
  private flags: number;
  /** Bytes received and taken by the reader, not yet granted back. */
  private credit = 0;
  /** The receive window now: `window` at first, doubled by grants while the stream drains fast. */
  private current: number;
  private lastGrant = 0;

  constructor(
    readonly id: number,
    private readonly host: StreamHost,
    opening: boolean,
    readonly window: number,
  ) {
    this.flags = opening ? Flag.SYN : Flag.ACK;
    this.recvWindow = this.current = window;
  }

  /** `n` bytes of Data arrived: they count against the window until granted back. */
  received(n: number): void {
    this.recvWindow -= n;
    this.credit += n;
  }

  /** Grants back what the reader took, once it is half the window (the caller knows the reader took it). */
  grant(): void {
    if (this.credit < this.current / 2) return;
    let delta = this.credit;
    const now = performance.now(); // monotonic: a clock stepped back must not make every grant look fast
    if (now - this.lastGrant < GROW_WITHIN_MS && this.host.growWindow?.(this.current, this.current)) {
      delta += this.current;
      this.current *= 2;
    }
    this.lastGrant = now;
    this.update(delta);
    this.recvWindow += delta;
    this.credit = 0;
  }

  /** The stream is over: what its window grew by goes back to the session. */
  release(): void {
    if (this.current > this.window) this.host.releaseWindow?.(this.current - this.window);
    this.current = this.window;
  }

  private nextFlags(extra = 0): number {
    const f = this.flags | extra;
    this.flags = 0;
    return f;
  }

  open(): void {
    this.update(this.window - INITIAL_WINDOW);
  }

  update(delta: number, extra = 0): void {
    this.host.send(this.host.header(FrameType.WindowUpdate, this.nextFlags(extra), this.id, delta));
  }

  data(body: Buffer): void {
    this.host.sendData(this.host.header(FrameType.Data, this.nextFlags(), this.id, body.length), body);
  }

  fin(): void {
    this.update(0, Flag.FIN);
  }

  reset(): void {
    this.update(0, Flag.RST);
  }
}
