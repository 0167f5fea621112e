import { Duplex } from 'node:stream';
import { P2prcError } from '../errors.js';
import { Flag, INITIAL_WINDOW } from './frame.js';
import { StreamFrames, type StreamHost } from './stream-frames.js';

export type { StreamHost } from './stream-frames.js';

/**
 * One yamux stream as a Node Duplex. Sending respects the peer's window (writes wait for a window
 * update); receiving grants more window only as the reader drains, in batches of half the window like
 * the Go peer, so a peer that ignores the window is caught by the decoder instead of buffered.
 */
export class YamuxStream extends Duplex {
  sendWindow = INITIAL_WINDOW;
  private blocked = false;
  private waiting: (() => void) | undefined;
  private finSent = false;
  private finReceived = false;
  private readonly frames: StreamFrames;

  /**
   * `window` above yamux's 256 KB is announced in the first frame (a window update on SYN or ACK), as
   * the spec allows; a bulk stream then keeps more bytes in flight than one event-loop turn drains.
   */
  constructor(
    readonly id: number,
    private readonly host: StreamHost,
    opening: boolean,
    window = INITIAL_WINDOW,
  ) {
    // A write is sent at once while the window allows: a 16 KB mark would pause the source after
    // every 64 KB chunk and resume it a tick later, for nothing.
    super({ allowHalfOpen: true, writableHighWaterMark: 256 * 1024 });
    this.frames = new StreamFrames(id, host, opening, window);
  }

  get recvWindow(): number {
    return this.frames.recvWindow;
  }

  open(): void {
    this.frames.open();
  }

  onData(body: Buffer): void {
    this.frames.received(body.length);
    if (body.length > 0 && !this.push(body)) this.blocked = true;
    else this.grant();
  }

  onWindowUpdate(flags: number, delta: number): void {
    this.sendWindow += delta;
    if (delta > 0) {
      const w = this.waiting;
      this.waiting = undefined;
      w?.();
    }
    this.onFlags(flags);
  }

  onFlags(flags: number): void {
    if (flags & Flag.RST) {
      this.destroy(
        new P2prcError('E_CLOSED', `yamux stream ${this.id} reset by the peer`, { details: { streamId: this.id } }),
      );
      return;
    }
    if (flags & Flag.FIN && !this.finReceived) {
      this.finReceived = true;
      this.push(null);
      this.maybeDone();
    }
  }

  private grant(): void {
    if (!this.destroyed) this.frames.grant();
  }

  override _read(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.grant();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const sendSome = (offset: number): void => {
      if (this.destroyed)
        return done(new P2prcError('E_CLOSED', `yamux stream ${this.id} was destroyed with data still to send`));
      if (offset >= chunk.length) return done();
      if (this.sendWindow <= 0) {
        this.waiting = () => sendSome(offset);
        return;
      }
      const n = Math.min(this.sendWindow, chunk.length - offset, 64 * 1024);
      this.sendWindow -= n;
      this.frames.data(chunk.subarray(offset, offset + n));
      sendSome(offset + n);
    };
    sendSome(0);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.finSent = true;
    this.frames.fin();
    this.maybeDone();
    done();
  }

  private maybeDone(): void {
    if (this.finSent && this.finReceived) this.host.forget(this.id);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (!(this.finSent && this.finReceived)) this.frames.reset();
    this.host.forget(this.id);
    this.frames.release();
    this.waiting = undefined;
    done(err);
  }
}
