import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes, type Cipher, type Decipher } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** frp's stream key: PBKDF2-HMAC-SHA1(token, salt "frp", 64 iterations, 16 bytes). */
export function frpKey(token: string): Buffer {
  return pbkdf2Sync(token, 'frp', 64, 16, 'sha1');
}

/** AES-128-CFB writer: a fresh random IV goes out in clear before the first ciphertext byte. */
export class CfbEncrypt extends Transform {
  private cipher: Cipher | undefined;

  constructor(private readonly key: Buffer) {
    super();
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    if (!this.cipher) {
      const iv = randomBytes(16);
      this.cipher = createCipheriv('aes-128-cfb', this.key, iv);
      this.push(iv);
    }
    done(null, this.cipher.update(chunk));
  }
}

/** AES-128-CFB reader: takes the peer's IV from its first 16 bytes. */
export class CfbDecrypt extends Transform {
  private decipher: Decipher | undefined;
  private head: Buffer = Buffer.alloc(0);

  constructor(private readonly key: Buffer) {
    super();
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    if (!this.decipher) {
      this.head = Buffer.concat([this.head, chunk]);
      if (this.head.length < 16) return done();
      this.decipher = createDecipheriv('aes-128-cfb', this.key, this.head.subarray(0, 16));
      chunk = this.head.subarray(16);
      this.head = Buffer.alloc(0);
    }
    done(null, chunk.length ? this.decipher.update(chunk) : undefined);
  }
}
