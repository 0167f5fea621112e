import { P2prcError } from '../errors.js';

/** hashicorp yamux framing (spec.md): a 12-byte header, big-endian; only Data frames carry a body. */
export const HEADER_SIZE = 12;
export const FrameType = { Data: 0, WindowUpdate: 1, Ping: 2, GoAway: 3 } as const;
export const Flag = { SYN: 1, ACK: 2, FIN: 4, RST: 8 } as const;
export const GoAwayCode = { Normal: 0, ProtocolError: 1, InternalError: 2 } as const;
export const INITIAL_WINDOW = 256 * 1024;

export interface YamuxFrame {
  type: number;
  flags: number;
  streamId: number;
  /** Data: body length; WindowUpdate: delta; Ping: opaque value; GoAway: code. */
  length: number;
  body?: Buffer;
}

export function encodeHeader(type: number, flags: number, streamId: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_SIZE);
  h[0] = 0;
  h[1] = type;
  h.writeUInt16BE(flags, 2);
  h.writeUInt32BE(streamId >>> 0, 4);
  h.writeUInt32BE(length >>> 0, 8);
  return h;
}

/**
 * Incremental decoder. `maxData(streamId)` is the receive window the peer may fill on that stream; a
 * Data frame claiming more is refused from its header alone, before any of its body is buffered.
 * Chunks are queued, not concatenated on arrival: a frame lying inside one chunk is a view of it, and
 * one straddling chunks is copied once (joining on every chunk copied 64 KB bodies several times).
 */
export class YamuxDecoder {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Partial mode: the data frame whose body is being handed on piece by piece. */
  private body: { flags: number; streamId: number; remaining: number; first: boolean } | undefined;

  /**
   * `partial`: a data body is handed on as it arrives, in pieces that are views of the received chunks
   * (SYN/ACK ride on the first piece, FIN/RST on the last), so no body is ever copied. Without it,
   * every frame comes whole.
   */
  constructor(
    private readonly maxData: (streamId: number) => number,
    private readonly partial = false,
  ) {}

  push(chunk: Buffer): YamuxFrame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    const out: YamuxFrame[] = [];
    for (;;) {
      if (this.body) {
        if (this.size === 0) break;
        out.push(this.piece(this.body));
        continue;
      }
      if (this.size < HEADER_SIZE) break;
      const head = this.peek(HEADER_SIZE);
      const version = head[0]!;
      const type = head[1]!;
      if (version !== 0) throw new P2prcError('E_PROTOCOL', `yamux: unsupported version ${version}`);
      if (type > 3) throw new P2prcError('E_PROTOCOL', `yamux: unknown frame type ${type}`);
      const flags = head.readUInt16BE(2);
      const streamId = head.readUInt32BE(4);
      const length = head.readUInt32BE(8);
      if (type !== FrameType.Data) {
        this.take(HEADER_SIZE);
        out.push({ type, flags, streamId, length });
        continue;
      }
      if (length > this.maxData(streamId))
        throw new P2prcError('E_PROTOCOL', `yamux: ${length}-byte data frame exceeds the window of stream ${streamId}`);
      if (this.partial && length > 0) {
        this.take(HEADER_SIZE);
        this.body = { flags, streamId, remaining: length, first: true };
        continue;
      }
      if (this.size < HEADER_SIZE + length) break;
      this.take(HEADER_SIZE);
      out.push({ type, flags, streamId, length, body: this.take(length) });
    }
    return out;
  }

  private piece(b: { flags: number; streamId: number; remaining: number; first: boolean }): YamuxFrame {
    const n = Math.min(b.remaining, this.chunks[0]!.length);
    const body = this.take(n);
    b.remaining -= n;
    const flags =
      (b.first ? b.flags & (Flag.SYN | Flag.ACK) : 0) | (b.remaining === 0 ? b.flags & (Flag.FIN | Flag.RST) : 0);
    b.first = false;
    if (b.remaining === 0) this.body = undefined;
    return { type: FrameType.Data, flags, streamId: b.streamId, length: n, body };
  }

  /** The first n queued bytes without consuming them (n is small: a header). */
  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) {
      let k = 0;
      for (let len = 0; len < n; k++) len += this.chunks[k]!.length;
      this.chunks.splice(0, k, Buffer.concat(this.chunks.slice(0, k)));
    }
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    this.size -= n;
    const first = this.chunks[0];
    if (!first || n === 0) return Buffer.alloc(0);
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    for (let off = 0; off < n;) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
