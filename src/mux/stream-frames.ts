import { Flag, FrameType, INITIAL_WINDOW } from './frame.js';

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
 * The frames one stream sends, for both kinds of stream (a Duplex, or one wired to a socket): SYN (or
 * ACK) rides on the first of them, and a window above yamux's 256 KB is announced in that first frame
 * (a window update on SYN or ACK), as the spec allows.
 */
export class StreamFrames {
  private flags: number;

  constructor(readonly id: number, private readonly host: StreamHost, opening: boolean, readonly window: number) {
    this.flags = opening ? Flag.SYN : Flag.ACK;
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
