import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { MAX_RECORD, MAX_RECORD_LARGE, Opener, Sealer } from '../../src/services/e2e.js';

const key = randomBytes(32);
const openAll = (o: Opener, chunks: Buffer[]) => Buffer.concat(chunks.flatMap((c) => o.push(c)));
/** The record lengths in a sealed buffer. */
function lengths(sealed: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at < sealed.length; at += 4 + sealed.readUInt32BE(at)) out.push(sealed.readUInt32BE(at) - 16);
  return out;
}

// The record layer between a service's visitor and owner (src/services/e2e.ts).
describe('sealed records', () => {
  it('a record split across chunks at every offset opens to the same plaintext', () => {
    const plain = randomBytes(300);
    const s = new Sealer(key);
    const sealed = Buffer.concat([s.seal(plain), s.seal(Buffer.from('x')), s.end()]);
    for (let cut = 0; cut <= sealed.length; cut++) {
      const o = new Opener(key);
      const got = openAll(o, [sealed.subarray(0, cut), sealed.subarray(cut)]);
      expect(got.equals(Buffer.concat([plain, Buffer.from('x')]))).toBe(true);
      expect(() => o.end()).not.toThrow();
    }
    const o = new Opener(key);
    const bytes = [...sealed].map((b) => Buffer.from([b]));
    expect(openAll(o, bytes).length).toBe(301);
  });

  it('records stay at 16 KiB for peers that may be older, up to 64 KiB when asked; both open', () => {
    const plain = randomBytes(200 * 1024);
    const small = new Sealer(key).seal(plain);
    expect(Math.max(...lengths(small))).toBe(MAX_RECORD);
    const large = new Sealer(key, MAX_RECORD_LARGE).seal(plain);
    expect(lengths(large)).toEqual([65536, 65536, 65536, 200 * 1024 - 3 * 65536]);
    expect(openAll(new Opener(key), [small]).equals(plain)).toBe(true);
    expect(openAll(new Opener(key), [large]).equals(plain)).toBe(true);
  });

  it('a length past the largest record is refused from its 4 bytes, before anything is buffered', () => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(MAX_RECORD_LARGE + 16 + 1, 0);
    expect(() => new Opener(key).push(head)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
    head.writeUInt32BE(15, 0); // shorter than a tag
    expect(() => new Opener(key).push(head)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
  });

  it('reordered, replayed or tampered records fail authentication; so does another key', () => {
    const s = new Sealer(key);
    const a = s.seal(Buffer.from('first'));
    const b = s.seal(Buffer.from('second'));
    expect(() => new Opener(key).push(Buffer.concat([b, a]))).toThrow(expect.objectContaining({ code: 'E_AUTH' }));
    const replay = new Opener(key);
    replay.push(a);
    expect(() => replay.push(a)).toThrow(expect.objectContaining({ code: 'E_AUTH' }));
    const flipped = Buffer.from(a);
    flipped[6]! ^= 1;
    expect(() => new Opener(key).push(flipped)).toThrow(expect.objectContaining({ code: 'E_AUTH' }));
    expect(() => new Opener(randomBytes(32)).push(a)).toThrow(expect.objectContaining({ code: 'E_AUTH' }));
  });

  it('truncation is detected: at a record boundary, mid-record, and a record after the end record', () => {
    const s = new Sealer(key);
    const data = s.seal(Buffer.from('hello'));
    const end = s.end();
    const atBoundary = new Opener(key);
    atBoundary.push(data);
    expect(() => atBoundary.end()).toThrow(expect.objectContaining({ code: 'E_CLOSED' }));
    const midRecord = new Opener(key);
    midRecord.push(Buffer.concat([data, end]).subarray(0, data.length + 3));
    expect(() => midRecord.end()).toThrow(expect.objectContaining({ code: 'E_CLOSED' }));
    const after = new Opener(key);
    expect(() => after.push(Buffer.concat([data, end, s.seal(Buffer.from('late'))]))).toThrow(
      expect.objectContaining({ code: 'E_PROTOCOL' }),
    );
  });

  it('nothing of a record is handed over before its tag checked out', () => {
    const sealed = new Sealer(key, MAX_RECORD_LARGE).seal(randomBytes(60_000));
    const o = new Opener(key);
    expect(o.push(sealed.subarray(0, sealed.length - 1))).toEqual([]);
    expect(Buffer.concat(o.push(sealed.subarray(sealed.length - 1))).length).toBe(60_000);
  });
});
