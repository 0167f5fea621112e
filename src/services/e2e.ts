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

/** Plaintext in, sealed records out. */
export class SealStream extends Transform {
  private counter = 0n;

  constructor(private readonly key: Buffer) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    for (let off = 0; off < chunk.length; off += MAX_RECORD)
      this.push(this.seal(chunk.subarray(off, off + MAX_RECORD)));
    done();
  }

  /** The end record: the plaintext side finished cleanly. */
  override _flush(done: TransformCallback): void {
    this.push(this.seal(Buffer.alloc(0)));
    done();
  }

  private seal(part: Buffer): Buffer {
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce(this.counter++));
    const body = Buffer.concat([cipher.update(part), cipher.final(), cipher.getAuthTag()]);
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(body.length, 0);
    return Buffer.concat([head, body]);
  }
}

/** Sealed records in, plaintext out; a tampered, reordered or oversized record is an error. */
export class OpenStream extends Transform {
  private counter = 0n;
  private buffered: Buffer = Buffer.alloc(0);
  private ended = false;

  constructor(private readonly key: Buffer) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    try {
      while (this.buffered.length >= 4) {
        const len = this.buffered.readUInt32BE(0);
        if (len < TAG || len > MAX_RECORD + TAG)
          throw new P2prcError('E_PROTOCOL', `sealed record of ${len} bytes is out of bounds`);
        if (this.buffered.length < 4 + len) break;
        if (this.ended) throw new P2prcError('E_PROTOCOL', 'sealed record after the end record');
        const body = this.buffered.subarray(4, 4 + len);
        this.buffered = this.buffered.subarray(4 + len);
        const decipher = createDecipheriv('aes-256-gcm', this.key, nonce(this.counter++));
        decipher.setAuthTag(body.subarray(len - TAG));
        const plain = Buffer.concat([decipher.update(body.subarray(0, len - TAG)), decipher.final()]);
        if (plain.length === 0) this.ended = true;
        else this.push(plain);
      }
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
      this.ended && this.buffered.length === 0
        ? undefined
        : new P2prcError('E_CLOSED', 'the sealed stream ended without its end record (truncated)'),
    );
  }
}
