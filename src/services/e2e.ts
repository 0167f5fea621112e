import { createCipheriv, createDecipheriv, type DecipherGCM } from 'node:crypto';
import { P2prcError } from '../errors.js';

/**
 * End-to-end protection between a service's visitor and its owner, through a host that relays only
 * ciphertext. The keys come from the service handshake (link.ts); one AES-256-GCM key per direction.
 * Records: u32 length | ciphertext | 16-byte tag, nonce = a per-direction counter, so a reordered,
 * replayed or dropped record fails authentication. Data records are never empty; an empty record is
 * the authenticated end of the stream, so a relay cutting the stream at a record boundary is told
 * apart from the peer closing it.
 *
 * A record carries at most MAX_RECORD bytes of plaintext toward a peer that may be older (whose
 * opener refuses more), and up to MAX_RECORD_LARGE toward one known to be current (a resumed
 * connection: only current owners hand out tickets). Openers accept either size.
 */
export const MAX_RECORD = 16 * 1024;
export const MAX_RECORD_LARGE = 64 * 1024;
const TAG = 16;
const HEAD = 4;

function nonce(counter: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeUIntBE(counter, 6, 6);
  return n;
}

/** Counters stay below 2^48: one key never seals that many records, and a nonce never repeats. */
const MAX_COUNTER = 2 ** 48 - 1;

function nextCounter(c: number): number {
  if (c >= MAX_COUNTER) throw new P2prcError('E_PROTOCOL', 'sealed stream ran out of record numbers');
  return c + 1;
}

/** Plaintext in, sealed records out: a chunk's records as one buffer, for one socket write. */
export class Sealer {
  private counter = 0;

  constructor(
    private readonly key: Buffer,
    private readonly maxRecord = MAX_RECORD,
  ) {}

  /** The records of one chunk of plaintext, split at the record size (none for an empty chunk). */
  seal(plain: Buffer): Buffer {
    const records = Math.ceil(plain.length / this.maxRecord);
    const out = Buffer.allocUnsafe(plain.length + records * (HEAD + TAG));
    for (let off = 0, at = 0; off < plain.length; off += this.maxRecord)
      at = this.sealInto(plain.subarray(off, off + this.maxRecord), out, at);
    return out;
  }

  /** The end record: the plaintext side finished cleanly. */
  end(): Buffer {
    const out = Buffer.allocUnsafe(HEAD + TAG);
    this.sealInto(Buffer.alloc(0), out, 0);
    return out;
  }

  private sealInto(part: Buffer, out: Buffer, at: number): number {
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce(this.counter));
    this.counter = nextCounter(this.counter);
    out.writeUInt32BE(part.length + TAG, at);
    at += HEAD;
    at += cipher.update(part).copy(out, at);
    cipher.final();
    return at + cipher.getAuthTag().copy(out, at);
  }
}

/**
 * Sealed records in, plaintext out, incrementally: `push` takes ciphertext as it arrives, in chunks
 * of any size, and returns the plaintext of the records it completed. A record's length is checked
 * before anything of it is buffered; a record split across chunks is decrypted piece by piece, and its
 * plaintext is handed over only once its tag checks out. Tampered, reordered or oversized records
 * throw (E_AUTH, E_PROTOCOL); `end` throws E_CLOSED unless the authenticated end record came.
 */
export class Opener {
  private counter = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private ended = false;

  constructor(private readonly key: Buffer) {}

  /** True once the peer's end record arrived. */
  get finished(): boolean {
    return this.ended;
  }

  push(chunk: Buffer): Buffer[] {
    const plain: Buffer[] = [];
    if (chunk.length > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    for (;;) {
      const len = this.headLength();
      if (len === undefined) return plain;
      if (len < TAG || len > MAX_RECORD_LARGE + TAG)
        throw new P2prcError('E_PROTOCOL', `sealed record of ${len} bytes is out of bounds`);
      if (this.pendingBytes < HEAD + len) return plain;
      if (this.ended) throw new P2prcError('E_PROTOCOL', 'sealed record after the end record');
      const part = this.openRecord(len);
      if (part.length === 0) this.ended = true;
      else plain.push(...part);
    }
  }

  /** The ciphertext ended: cleanly only after the authenticated end record, else it was cut. */
  end(): void {
    if (!this.ended || this.pendingBytes > 0)
      throw new P2prcError('E_CLOSED', 'the sealed stream ended without its end record (truncated)');
  }

  /** The record length at the head of what is pending, once its 4 bytes are there. */
  private headLength(): number | undefined {
    if (this.pendingBytes < HEAD) return undefined;
    const first = this.pending[0]!;
    if (first.length >= HEAD) return first.readUInt32BE(0);
    const head = Buffer.concat(this.pending, this.pendingBytes).subarray(0, HEAD);
    return head.readUInt32BE(0);
  }

  /** Takes `n` bytes off the front of what is pending, as the pieces they lie in. */
  private take(n: number): Buffer[] {
    const out: Buffer[] = [];
    this.pendingBytes -= n;
    while (n > 0) {
      const b = this.pending[0]!;
      if (b.length <= n) {
        out.push(b);
        this.pending.shift();
        n -= b.length;
      } else {
        out.push(b.subarray(0, n));
        this.pending[0] = b.subarray(n);
        n = 0;
      }
    }
    return out;
  }

  /** Decrypts the whole record at the front (its length read already): its plaintext pieces. */
  private openRecord(len: number): Buffer[] {
    this.take(HEAD);
    const body = this.take(len - TAG);
    const tag = this.take(TAG);
    const decipher: DecipherGCM = createDecipheriv('aes-256-gcm', this.key, nonce(this.counter));
    this.counter = nextCounter(this.counter);
    decipher.setAuthTag(tag.length === 1 ? tag[0]! : Buffer.concat(tag));
    const out: Buffer[] = [];
    try {
      for (const piece of body) {
        const p = decipher.update(piece);
        if (p.length > 0) out.push(p);
      }
      decipher.final();
    } catch (err) {
      throw new P2prcError('E_AUTH', 'a sealed record failed authentication (tampered)', { cause: err });
    }
    return out;
  }
}
