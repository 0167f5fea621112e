import { createCipheriv, createDecipheriv } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { P2prcError } from '../errors.js';

/**
 * End-to-end protection between a service's visitor and its owner, through a host that relays only
 * ciphertext. The keys come from the CPace handshake (pake.ts); one AES-256-GCM key per direction.
 * Records: u32 length | ciphertext | 16-byte tag, nonce = counter. Data records are never empty; an
 * empty record is the authenticated end of the stream, so a relay cutting the stream at a record
 * boundary is told apart from the peer closing it.
 */
export const MAX_RECORD = 16 * 1024;
const TAG = 16;

function nonce(counter: bigint): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(counter, 4);
  return n;
}

/**
 * Buffered per side of a sealing or opening stream: a few records, so a socket's 64 KB reads and
 * writes pass through whole instead of being cut at the default 16 KB.
 */
const STREAM_BUFFER = 256 * 1024;

/** Plaintext in, sealed records out: the records of one chunk leave as one buffer (one socket write). */
export class SealStream extends Transform {
  private counter = 0n;

  constructor(private readonly key: Buffer) {
    super({ highWaterMark: STREAM_BUFFER });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (chunk.length <= MAX_RECORD) return done(null, this.seal(chunk));
    const records: Buffer[] = [];
    for (let off = 0; off < chunk.length; off += MAX_RECORD)
      records.push(...this.sealParts(chunk.subarray(off, off + MAX_RECORD)));
    done(null, Buffer.concat(records));
  }

  /** The end record: the plaintext side finished cleanly. */
  override _flush(done: TransformCallback): void {
    this.push(this.seal(Buffer.alloc(0)));
    done();
  }

  private seal(part: Buffer): Buffer {
    return Buffer.concat(this.sealParts(part));
  }

  /** One record as its pieces: length, ciphertext, tag (GCM adds nothing to the plaintext's length). */
  private sealParts(part: Buffer): Buffer[] {
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce(this.counter++));
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(part.length + TAG, 0);
    const body = cipher.update(part);
    cipher.final();
    return [head, body, cipher.getAuthTag()];
  }
}

/** Sealed records in, plaintext out; a tampered, reordered or oversized record is an error. */
export class OpenStream extends Transform {
  private counter = 0n;
  /** Bytes of an incomplete record: kept as chunks, joined once the record is whole. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private ended = false;

  constructor(private readonly key: Buffer) {
    super({ highWaterMark: STREAM_BUFFER });
  }

  /** The record length at the head of what is pending, once its 4 bytes are there. */
  private headLength(): number | undefined {
    if (this.pendingBytes < 4) return undefined;
    if (this.pending[0]!.length < 4) this.pending = [Buffer.concat(this.pending)];
    return this.pending[0]!.readUInt32BE(0);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const plain: Buffer[] = [];
    try {
      for (let len = this.headLength(); len !== undefined; len = this.headLength()) {
        if (len < TAG || len > MAX_RECORD + TAG)
          throw new P2prcError('E_PROTOCOL', `sealed record of ${len} bytes is out of bounds`);
        if (this.pendingBytes < 4 + len) break;
        if (this.ended) throw new P2prcError('E_PROTOCOL', 'sealed record after the end record');
        const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
        const body = all.subarray(4, 4 + len);
        const rest = all.subarray(4 + len);
        this.pending = rest.length > 0 ? [rest] : [];
        this.pendingBytes = rest.length;
        const decipher = createDecipheriv('aes-256-gcm', this.key, nonce(this.counter++));
        decipher.setAuthTag(body.subarray(len - TAG));
        const part = decipher.update(body.subarray(0, len - TAG));
        decipher.final();
        if (part.length === 0) this.ended = true;
        else plain.push(part);
      }
      if (plain.length > 0) this.push(plain.length === 1 ? plain[0] : Buffer.concat(plain));
      done();
    } catch (err) {
      done(
        err instanceof P2prcError
          ? err
          : new P2prcError('E_AUTH', 'a sealed record failed authentication (tampered)', { cause: err }),
      );
    }
  }

  /** The ciphertext ended: cleanly only after the authenticated end record, else it was cut. */
  override _flush(done: TransformCallback): void {
    done(
      this.ended && this.pendingBytes === 0
        ? undefined
        : new P2prcError('E_CLOSED', 'the sealed stream ended without its end record (truncated)'),
    );
  }
}
