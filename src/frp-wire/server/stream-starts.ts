import { Transform, type TransformCallback } from 'node:stream';
import { P2prcError } from '../../errors.js';

/** How many control-stream starts the host remembers per key (16 bytes each, about 3 MB at most). */
export const MAX_REMEMBERED_STARTS = 32_768;

const BLOCK = 16;

/**
 * The 16-byte blocks that may begin a copy of a control stream seen under one frp key. frp's v1 control
 * stream is AES-128-CFB keyed by the token alone, without integrity, so a second session (a same-second
 * twin login, see LoginReplayCache) could be fed another session's ciphertext and the host would
 * decrypt and run it. A copy must begin with a block the host has seen: the stream's IV (each frpc
 * picks a random one), or, since CFB resynchronises after one block, the ciphertext block just before
 * a message that starts on a block boundary. Each such block may start one stream only. Pure;
 * bounded, the oldest forgotten first.
 */
export class StreamStarts {
  private readonly seen = new Set<string>();

  constructor(private readonly max = MAX_REMEMBERED_STARTS) {}

  /** Whether a stream may begin with this IV: false when it was seen before. Remembered either way. */
  claim(iv: Buffer): boolean {
    const id = iv.toString('base64');
    if (this.seen.has(id)) return false;
    this.remember(id);
    return true;
  }

  /** A block after which a message began on a block boundary: no stream may begin with it. */
  note(block: Buffer): void {
    const id = block.toString('base64');
    if (!this.seen.has(id)) this.remember(id);
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > this.max) this.seen.delete(this.seen.values().next().value!);
  }
}

/**
 * Taps a control stream's ciphertext on its way to the decrypter: claims its IV (a repeated one fails
 * the stream with E_AUTH) and, told where each decoded message ends, notes the block before every
 * message that begins on a block boundary. Holds at most the ciphertext of one unfinished message.
 */
export class ControlStreamTap extends Transform {
  private head: Buffer = Buffer.alloc(0);
  private started = false;
  /** Ciphertext after the IV from stream offset `start` on; `start` trails `consumedTo`, the last message's end, by a block. */
  private cipher: Buffer = Buffer.alloc(0);
  private start = 0;
  private consumedTo = 0;

  constructor(private readonly starts: StreamStarts) {
    super();
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    let body = chunk;
    if (!this.started) {
      this.head = Buffer.concat([this.head, chunk]);
      if (this.head.length < BLOCK) return done();
      if (!this.starts.claim(this.head.subarray(0, BLOCK)))
        return done(new P2prcError('E_AUTH', 'frp control stream repeats one already seen (a replay)'));
      this.started = true;
      body = this.head.subarray(BLOCK);
      chunk = this.head;
      this.head = Buffer.alloc(0);
    }
    this.cipher = this.cipher.length ? Buffer.concat([this.cipher, body]) : body;
    done(null, chunk);
  }

  /** The decoder read a whole message of `size` bytes (the next one begins right after it). */
  consumed(size: number): void {
    this.consumedTo += size;
    if (this.consumedTo % BLOCK === 0)
      this.starts.note(this.cipher.subarray(this.consumedTo - BLOCK - this.start, this.consumedTo - this.start));
    const from = Math.max(0, this.consumedTo - BLOCK);
    this.cipher = this.cipher.subarray(from - this.start);
    this.start = from;
  }
}
