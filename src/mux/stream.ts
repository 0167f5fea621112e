import { Duplex } from 'node:stream';
import { P2prcError } from '../errors.js';
import { Flag, FrameType, INITIAL_WINDOW } from './frame.js';

export interface StreamHost {
  send(frame: Buffer): void;
  /** A header and its body in one writev, without joining them into a new buffer. */
  sendData(header: Buffer, body: Buffer): void;
  header(type: number, flags: number, streamId: number, length: number): Buffer;
  forget(streamId: number): void;
  /** The connection holds more unsent bytes than it should: sources pause until `whenDrained`. */
  congested?(): boolean;
  whenDrained?(resume: () => void): void;
}

/**
 * One yamux stream as a Node Duplex. Sending respects the peer's window (writes wait for a window
 * update); receiving grants more window only as the reader drains, in batches of half the window like
 * the Go peer, so a peer that ignores the window is caught by the decoder instead of buffered.
 */
export class YamuxStream extends Duplex {
  sendWindow = INITIAL_WINDOW;
  recvWindow: number;
  private credit = 0;
  private blocked = false;
  private waiting: (() => void) | undefined;
  private finSent = false;
  private finReceived = false;
  private flags: number;

  /**
   * `window` above yamux's 256 KB is announced in the first frame (a window update on SYN or ACK), as
   * the spec allows; a bulk stream then keeps more bytes in flight than one event-loop turn drains.
   */
  constructor(readonly id: number, private readonly host: StreamHost, opening: boolean, private readonly window = INITIAL_WINDOW) {
    // A write is sent at once while the window allows: a 16 KB mark would pause the source after
    // every 64 KB chunk and resume it a tick later, for nothing.
    super({ allowHalfOpen: true, writableHighWaterMark: 256 * 1024 });
    this.flags = opening ? Flag.SYN : Flag.ACK;
    this.recvWindow = window;
  }

  /** The flags for the next frame: SYN (or ACK) rides on the first frame this side sends. */
  private nextFlags(extra = 0): number {
    const f = this.flags | extra;
    this.flags = 0;
    return f;
  }

  open(): void {
    this.host.send(this.host.header(FrameType.WindowUpdate, this.nextFlags(), this.id, this.window - INITIAL_WINDOW));
  }

  onData(body: Buffer): void {
    this.recvWindow -= body.length;
    this.credit += body.length;
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
      this.destroy(new P2prcError('E_CLOSED', `yamux stream ${this.id} reset by the peer`, { details: { streamId: this.id } }));
      return;
    }
    if (flags & Flag.FIN && !this.finReceived) {
      this.finReceived = true;
      this.push(null);
      this.maybeDone();
    }
  }

  private grant(): void {
    if (this.credit < this.window / 2 || this.destroyed) return;
    this.host.send(this.host.header(FrameType.WindowUpdate, this.nextFlags(), this.id, this.credit));
    this.recvWindow += this.credit;
    this.credit = 0;
  }

  override _read(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.grant();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const sendSome = (offset: number): void => {
      if (this.destroyed) return done(new P2prcError('E_CLOSED', `yamux stream ${this.id} was destroyed with data still to send`));
      if (offset >= chunk.length) return done();
      if (this.sendWindow <= 0) {
        this.waiting = () => sendSome(offset);
        return;
      }
      const n = Math.min(this.sendWindow, chunk.length - offset, 64 * 1024);
      this.sendWindow -= n;
      this.host.sendData(this.host.header(FrameType.Data, this.nextFlags(), this.id, n), chunk.subarray(offset, offset + n));
      sendSome(offset + n);
    };
    sendSome(0);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.finSent = true;
    this.host.send(this.host.header(FrameType.WindowUpdate, this.nextFlags(Flag.FIN), this.id, 0));
    this.maybeDone();
    done();
  }

  private maybeDone(): void {
    if (this.finSent && this.finReceived) this.host.forget(this.id);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (!(this.finSent && this.finReceived)) this.host.send(this.host.header(FrameType.WindowUpdate, this.nextFlags(Flag.RST), this.id, 0));
    this.host.forget(this.id);
    this.waiting = undefined;
    done(err);
  }
}
