import { createCipheriv, createDecipheriv, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { P2prcError } from '../errors.js';

/**
 * End-to-end protection between a service's visitor and its owner, through a host that relays only
 * ciphertext. Both sides prove the per-service secret by HMAC over both fresh nonces (the host, which
 * relays the handshake, learns neither the secret nor anything it could replay), then derive one
 * AES-256-GCM key per direction. Records: u32 length | ciphertext | 16-byte tag, nonce = counter.
 */
export const NONCE_BYTES = 32;
export const MAX_RECORD = 16 * 1024;
const TAG = 16;

const proof = (label: string) => (secret: string, serviceId: string, nV: Buffer, nO: Buffer): Buffer =>
  createHmac('sha256', secret).update(label).update('\0').update(serviceId).update('\0').update(nV).update(nO).digest();

export const visitorProof = proof('p2prc/v1/service/visitor');
export const ownerProof = proof('p2prc/v1/service/owner');

export function proofMatches(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function deriveKeys(secret: string, serviceId: string, nV: Buffer, nO: Buffer): { visitorToOwner: Buffer; ownerToVisitor: Buffer } {
  const okm = Buffer.from(hkdfSync('sha256', secret, Buffer.concat([nV, nO]), `p2prc/v1/service/keys/${serviceId}`, 64));
  return { visitorToOwner: okm.subarray(0, 32), ownerToVisitor: okm.subarray(32) };
}

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
    for (let off = 0; off < chunk.length; off += MAX_RECORD) {
      const part = chunk.subarray(off, off + MAX_RECORD);
      const cipher = createCipheriv('aes-256-gcm', this.key, nonce(this.counter++));
      const body = Buffer.concat([cipher.update(part), cipher.final(), cipher.getAuthTag()]);
      const head = Buffer.allocUnsafe(4);
      head.writeUInt32BE(body.length, 0);
      this.push(Buffer.concat([head, body]));
    }
    done();
  }
}

/** Sealed records in, plaintext out; a tampered, reordered or oversized record is an error. */
export class OpenStream extends Transform {
  private counter = 0n;
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly key: Buffer) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    try {
      while (this.buffered.length >= 4) {
        const len = this.buffered.readUInt32BE(0);
        if (len < TAG || len > MAX_RECORD + TAG) throw new P2prcError('E_PROTOCOL', `sealed record of ${len} bytes is out of bounds`);
        if (this.buffered.length < 4 + len) break;
        const body = this.buffered.subarray(4, 4 + len);
        this.buffered = this.buffered.subarray(4 + len);
        const decipher = createDecipheriv('aes-256-gcm', this.key, nonce(this.counter++));
        decipher.setAuthTag(body.subarray(len - TAG));
        this.push(Buffer.concat([decipher.update(body.subarray(0, len - TAG)), decipher.final()]));
      }
      done();
    } catch (err) {
      done(err instanceof P2prcError ? err : new P2prcError('E_AUTH', 'a sealed record failed authentication (tampered)', { cause: err }));
    }
  }
}
