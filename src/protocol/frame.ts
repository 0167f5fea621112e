import { P2prcError } from '../errors.js';

/**
 * Wire framing for p2prc control traffic.
 *
 *   preamble  : "P2RC" + u8 protocol version          (sent once by the connecting side)
 *   frame     : u32 BE length | u8 type | payload      (length counts type + payload)
 *
 * The length is checked against the cap before a single payload byte is buffered, so a
 * stranger cannot make the host allocate more than `maxFrameSize`.
 */
export const MAGIC = Buffer.from('P2RC', 'latin1');
export const PROTOCOL_VERSION = 1;
export const PREAMBLE_SIZE = MAGIC.length + 1;
export const FRAME_HEADER_SIZE = 5;
/** Large enough for one maximal UDP datagram (65,507 bytes) plus its header. */
export const DEFAULT_MAX_FRAME_SIZE = 72 * 1024;

export interface Frame {
  type: number;
  payload: Buffer;
}

export function encodePreamble(version = PROTOCOL_VERSION): Buffer {
  return Buffer.concat([MAGIC, Buffer.from([version])]);
}

/** Returns the peer's protocol version, or throws E_PROTOCOL when the bytes are not a p2prc preamble. */
export function decodePreamble(bytes: Buffer): number {
  if (bytes.length < PREAMBLE_SIZE || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new P2prcError('E_PROTOCOL', 'not a p2prc connection (bad preamble)');
  }
  return bytes[MAGIC.length]!;
}

export function encodeFrame(type: number, payload: Buffer, maxFrameSize = DEFAULT_MAX_FRAME_SIZE): Buffer {
  const length = payload.length + 1;
  if (length > maxFrameSize) {
    throw new P2prcError('E_TOO_LARGE', `frame of ${length} bytes exceeds the ${maxFrameSize}-byte cap`);
  }
  const out = Buffer.allocUnsafe(4 + length);
  out.writeUInt32BE(length, 0);
  out[4] = type;
  payload.copy(out, FRAME_HEADER_SIZE);
  return out;
}

/**
 * Incremental decoder: push() any chunking of the byte stream, get whole frames back.
 * Keeps at most one partial frame (≤ maxFrameSize + header) buffered.
 */
export class FrameDecoder {
  readonly maxFrameSize: number;
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {
    this.maxFrameSize = maxFrameSize;
  }

  /** Bytes received but not yet returned as frames. */
  get pending(): number {
    return this.buffered;
  }

  /** Buffers a chunk; call read() to take frames out. */
  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next whole frame, or undefined when more bytes are needed. Throws a coded error on bad input. */
  read(): Frame | undefined {
    if (this.buffered < 4) return undefined;
    const length = this.peekLength();
    if (length < 1) throw new P2prcError('E_PROTOCOL', 'frame with zero length');
    if (length > this.maxFrameSize) {
      throw new P2prcError('E_TOO_LARGE', `frame of ${length} bytes exceeds the ${this.maxFrameSize}-byte cap`);
    }
    if (this.buffered < 4 + length) return undefined;
    const whole = this.consume(4 + length);
    return { type: whole[4]!, payload: whole.subarray(FRAME_HEADER_SIZE) };
  }

  push(chunk: Buffer): Frame[] {
    this.write(chunk);
    const frames: Frame[] = [];
    for (let f = this.read(); f; f = this.read()) frames.push(f);
    return frames;
  }

  /** Hands back whatever follows the last frame (raw data after a bind) and empties the decoder. */
  takeRest(): Buffer {
    const rest = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    return rest;
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    const merged = Buffer.concat(this.chunks);
    this.chunks = [merged];
    return merged.readUInt32BE(0);
  }

  private consume(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const merged = Buffer.concat(this.chunks);
      out = merged.subarray(0, n);
      this.chunks = merged.length > n ? [merged.subarray(n)] : [];
    }
    this.buffered -= n;
    return out;
  }
}
