import { P2prcError, toP2prcError } from '../errors.js';
import { debug } from '../log/debug.js';
import type { SocketStream } from '../mux/socket-stream.js';
import { FrameDecoder } from '../protocol/frame.js';
import { decodeMessage, type Messages } from '../protocol/messages.js';

/** A Bind is a few hundred bytes; a stream whose first frame claims more is not the host's. */
const MAX_BIND_SIZE = 4096;

/**
 * Reads the Bind off the front of each stream the host opens, straight from the bytes the stream
 * received before it has a socket: no Duplex, no promise and no timer per visitor. Streams whose Bind
 * is incomplete are swept by one timer, so a peer that opens streams and goes quiet holds none.
 */
export class BindReader {
  private readonly waiting = new Map<SocketStream, number>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly bound: (stream: SocketStream, bind: Messages['Bind'], rest: Buffer) => void,
  ) {}

  add(stream: SocketStream): void {
    stream.onEarly = () => this.check(stream);
    // No 'close' listener (it would live as long as the stream): the sweep drops streams closed early.
    this.waiting.set(stream, Date.now() + this.timeoutMs);
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.min(1_000, this.timeoutMs / 2)));
      this.sweeper.unref();
    }
  }

  private check(stream: SocketStream): void {
    if (stream.earlyLength < 4) return;
    try {
      // The control channel's decoder, capped at a Bind's size: it refuses a bad length from the header alone.
      const frames = new FrameDecoder(MAX_BIND_SIZE);
      frames.write(stream.peekEarly());
      const frame = frames.read();
      if (!frame) return;
      stream.takeEarly();
      const m = decodeMessage(frame);
      if (m.type !== 'Bind') throw new P2prcError('E_PROTOCOL', `expected Bind on a stream, got ${m.type}`);
      this.waiting.delete(stream);
      stream.onEarly = undefined;
      this.bound(stream, m.body, frames.takeRest());
    } catch (err) {
      const e = toP2prcError(err);
      debug(e.code, `stream ${stream.id} dropped: ${e.message}`);
      this.waiting.delete(stream);
      stream.destroy();
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [stream, deadline] of this.waiting) {
      if (stream.destroyed) {
        this.waiting.delete(stream);
        continue;
      }
      if (deadline > now) continue;
      debug('E_TIMEOUT', `stream ${stream.id}: no Bind within ${this.timeoutMs} ms`);
      this.waiting.delete(stream);
      stream.destroy();
    }
    if (this.waiting.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const s of this.waiting.keys()) s.destroy();
    this.waiting.clear();
  }
}
