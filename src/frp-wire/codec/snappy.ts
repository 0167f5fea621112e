import { Transform, type TransformCallback } from 'node:stream';
import { P2prcError } from '../../errors.js';

/**
 * The snappy framing format as golang/snappy's Writer and Reader use it (frp's use_compression).
 * Writing emits uncompressed chunks, which every reader accepts; reading handles both chunk kinds,
 * checks the masked CRC-32C, skips padding and skippable chunks, and refuses oversized ones.
 */
const STREAM_ID = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
const MAX_BLOCK = 65_536;
const MAX_CHUNK = 4 + 76_490; // a compressed block can exceed the input a little

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function maskedCrc(buf: Buffer): number {
  const c = crc32c(buf);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Raw snappy block decompression (literals and the three copy forms, overlapping copies allowed). */
export function snappyDecompress(src: Buffer): Buffer {
  let pos = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= src.length || shift > 28) throw new P2prcError('E_PROTOCOL', 'snappy: bad length varint');
    const b = src[pos++]!;
    length |= (b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  if (length > MAX_BLOCK) throw new P2prcError('E_TOO_LARGE', 'snappy: block larger than 64 KiB');
  const out = Buffer.alloc(length);
  let o = 0;
  const need = (n: number) => {
    if (pos + n > src.length) throw new P2prcError('E_PROTOCOL', 'snappy: truncated block');
  };
  while (pos < src.length) {
    const tag = src[pos++]!;
    let len: number;
    let offset = 0;
    if ((tag & 3) === 0) {
      len = (tag >> 2) + 1;
      if (len > 60) {
        const extra = len - 60;
        need(extra);
        len = src.readUIntLE(pos, extra) + 1;
        pos += extra;
      }
      need(len);
      if (o + len > length) throw new P2prcError('E_PROTOCOL', 'snappy: literal overruns the block');
      src.copy(out, o, pos, pos + len);
      pos += len;
      o += len;
      continue;
    }
    if ((tag & 3) === 1) {
      need(1);
      len = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | src[pos++]!;
    } else if ((tag & 3) === 2) {
      need(2);
      len = (tag >> 2) + 1;
      offset = src.readUInt16LE(pos);
      pos += 2;
    } else {
      need(4);
      len = (tag >> 2) + 1;
      offset = src.readUInt32LE(pos);
      pos += 4;
    }
    if (offset === 0 || offset > o || o + len > length) throw new P2prcError('E_PROTOCOL', 'snappy: bad copy');
    for (let i = 0; i < len; i++, o++) out[o] = out[o - offset]!;
  }
  if (o !== length) throw new P2prcError('E_PROTOCOL', 'snappy: block shorter than announced');
  return out;
}

export class SnappyFrameEncoder extends Transform {
  private started = false;

  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    if (!this.started) {
      this.started = true;
      this.push(STREAM_ID);
    }
    for (let off = 0; off < chunk.length; off += MAX_BLOCK) {
      const data = chunk.subarray(off, off + MAX_BLOCK);
      const head = Buffer.alloc(8);
      head[0] = 0x01;
      head.writeUIntLE(4 + data.length, 1, 3);
      head.writeUInt32LE(maskedCrc(data), 4);
      this.push(Buffer.concat([head, data]));
    }
    done();
  }
}

export class SnappyFrameDecoder extends Transform {
  private buf: Buffer = Buffer.alloc(0);

  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    try {
      while (this.buf.length >= 4) {
        const type = this.buf[0]!;
        const len = this.buf.readUIntLE(1, 3);
        if (len > MAX_CHUNK) throw new P2prcError('E_TOO_LARGE', `snappy: chunk of ${len} bytes`);
        if (this.buf.length < 4 + len) break;
        const body = this.buf.subarray(4, 4 + len);
        this.buf = this.buf.subarray(4 + len);
        if (type === 0xff) {
          if (!body.equals(STREAM_ID.subarray(4))) throw new P2prcError('E_PROTOCOL', 'snappy: bad stream identifier');
        } else if (type === 0x00 || type === 0x01) {
          if (len < 4) throw new P2prcError('E_PROTOCOL', 'snappy: chunk without checksum');
          const data = type === 0x00 ? snappyDecompress(body.subarray(4)) : body.subarray(4);
          if (maskedCrc(data) !== body.readUInt32LE(0)) throw new P2prcError('E_PROTOCOL', 'snappy: checksum mismatch');
          this.push(data);
        } else if (type < 0x80) {
          throw new P2prcError('E_PROTOCOL', `snappy: reserved chunk type 0x${type.toString(16)}`);
        } // 0x80-0xfe: skippable and padding
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  }
}
