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
 */
export class YamuxDecoder {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxData: (streamId: number) => number) {}

  push(chunk: Buffer): YamuxFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: YamuxFrame[] = [];
    while (this.buf.length >= HEADER_SIZE) {
      const version = this.buf[0]!;
      const type = this.buf[1]!;
      if (version !== 0) throw new P2prcError('E_PROTOCOL', `yamux: unsupported version ${version}`);
      if (type > 3) throw new P2prcError('E_PROTOCOL', `yamux: unknown frame type ${type}`);
      const flags = this.buf.readUInt16BE(2);
      const streamId = this.buf.readUInt32BE(4);
      const length = this.buf.readUInt32BE(8);
      let body: Buffer | undefined;
      if (type === FrameType.Data) {
        if (length > this.maxData(streamId)) throw new P2prcError('E_PROTOCOL', `yamux: ${length}-byte data frame exceeds the window of stream ${streamId}`);
        if (this.buf.length < HEADER_SIZE + length) break;
        body = this.buf.subarray(HEADER_SIZE, HEADER_SIZE + length);
        this.buf = this.buf.subarray(HEADER_SIZE + length);
      } else {
        this.buf = this.buf.subarray(HEADER_SIZE);
      }
      out.push(body ? { type, flags, streamId, length, body } : { type, flags, streamId, length });
    }
    return out;
  }
}
