import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { FrpMessageDecoder, FrpMsg, encodeFrpMessage, privilegeKey } from '../../src/frp-wire/codec/messages.js';
import { CfbDecrypt, CfbEncrypt, frpKey } from '../../src/frp-wire/codec/crypto.js';
import { YamuxDecoder, encodeHeader, Flag, FrameType } from '../../src/mux/frame.js';
import { P2prcError } from '../../src/errors.js';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

describe('frp v1 messages (byte layouts from the spec)', () => {
  it('encodes Ping exactly as frp does and decodes a hand-assembled LoginResp', () => {
    expect(encodeFrpMessage(FrpMsg.Ping, {})).toEqual(hex('68 0000000000000002 7b7d'));
    const body = Buffer.from('{"version":"0.31.2","run_id":"abc","error":""}');
    const frame = Buffer.concat([
      Buffer.from([0x31]),
      hex('00000000000000' + body.length.toString(16).padStart(2, '0')),
      body,
    ]);
    expect(new FrpMessageDecoder().push(frame)).toEqual([
      { type: FrpMsg.LoginResp, body: { version: '0.31.2', run_id: 'abc', error: '' }, size: frame.length },
    ]);
  });

  it('refuses unknown types and over-long lengths, as frp closes the connection', () => {
    expect(() => new FrpMessageDecoder().push(hex('ff 0000000000000002 7b7d'))).toThrow(P2prcError);
    expect(() => new FrpMessageDecoder().push(hex('68 0000000000002801'))).toThrow(
      expect.objectContaining({ code: 'E_TOO_LARGE' }),
    );
    expect(() => new FrpMessageDecoder().push(hex('68 ffffffffffffffff'))).toThrow(
      expect.objectContaining({ code: 'E_TOO_LARGE' }),
    );
  });

  it('fuzz: random bytes only raise coded errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          new FrpMessageDecoder().push(Buffer.from(bytes));
        } catch (e) {
          expect(e).toBeInstanceOf(P2prcError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('derives the privilege key and stream key from the spec test vectors', () => {
    expect(privilegeKey('1234', 1488720000)).toBe('6df41a43725f0c770fd56379e12acf8c');
    expect(frpKey('12345678').toString('hex')).toBe('b7eac3f66310824c114f56f8274fdfea');
    expect(frpKey('').toString('hex')).toBe('cdc9dc4c472c37331281df4c232a8407');
  });

  it('AES-128-CFB: IV first, then a continuous keystream that any chunking decrypts', async () => {
    const key = frpKey('tok');
    const enc = new CfbEncrypt(key);
    const out: Buffer[] = [];
    enc.on('data', (d: Buffer) => out.push(d));
    enc.write(Buffer.from('hello '));
    enc.end(Buffer.from('world'));
    await new Promise((r) => enc.on('end', r));
    const wire = Buffer.concat(out);
    expect(wire.length).toBe(16 + 11);
    const dec = new CfbDecrypt(key);
    const plain: Buffer[] = [];
    Readable.from([wire.subarray(0, 5), wire.subarray(5, 20), wire.subarray(20)])
      .pipe(dec)
      .on('data', (d: Buffer) => plain.push(d));
    await new Promise((r) => dec.on('end', r));
    expect(Buffer.concat(plain).toString()).toBe('hello world');
  });
});

describe('yamux frames (hashicorp layout, captured v0.31.2 bytes)', () => {
  it('matches the captured open and ping frames', () => {
    expect(encodeHeader(FrameType.WindowUpdate, Flag.SYN, 1, 0)).toEqual(hex('00 01 0001 00000001 00000000'));
    expect(encodeHeader(FrameType.Ping, Flag.ACK, 0, 0)).toEqual(hex('00 02 0002 00000000 00000000'));
    const d = new YamuxDecoder(() => 256 * 1024);
    const frames = d.push(
      Buffer.concat([hex('00 00 0000 00000001 00000003'), Buffer.from('abc'), hex('00 01 0002 00000001 00000000')]),
    );
    expect(frames).toEqual([
      { type: 0, flags: 0, streamId: 1, length: 3, body: Buffer.from('abc') },
      { type: 1, flags: 2, streamId: 1, length: 0 },
    ]);
  });

  it('refuses a bad version, a bad type, and data beyond the window before buffering it', () => {
    expect(() => new YamuxDecoder(() => 10).push(hex('01 00 0000 00000001 00000001'))).toThrow(/version/);
    expect(() => new YamuxDecoder(() => 10).push(hex('00 07 0000 00000001 00000001'))).toThrow(/type/);
    expect(() => new YamuxDecoder(() => 10).push(hex('00 00 0000 00000001 00000b00'))).toThrow(/window/);
  });
});

describe('snappy framing (frp use_compression)', async () => {
  const { crc32c, snappyDecompress, SnappyFrameDecoder, SnappyFrameEncoder, maskedCrc } =
    await import('../../src/frp-wire/codec/snappy.js');
  it('decodes a hand-assembled block with a literal and an overlapping copy; CRC-32C matches the standard vector', () => {
    expect(snappyDecompress(hex('09 08 616263 09 03')).toString()).toBe('abcabcabc');
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(() => snappyDecompress(hex('09 08 616263 09 09'))).toThrow(P2prcError);
  });

  it('round-trips through the frame encoder and decoder, and rejects a corrupted checksum', async () => {
    const data = Buffer.from('hello snappy '.repeat(10_000));
    const enc = new SnappyFrameEncoder();
    const chunks: Buffer[] = [];
    enc.on('data', (d: Buffer) => chunks.push(d));
    enc.end(data);
    await new Promise((r) => enc.on('end', r));
    const framed = Buffer.concat(chunks);
    expect(framed.subarray(0, 10)).toEqual(hex('ff060000 734e61507059'));
    const dec = new SnappyFrameDecoder();
    const out: Buffer[] = [];
    dec.on('data', (d: Buffer) => out.push(d));
    dec.end(framed);
    await new Promise((r) => dec.on('end', r));
    expect(Buffer.concat(out)).toEqual(data);
    const bad = Buffer.from(framed);
    bad.writeUInt32LE(maskedCrc(Buffer.from('x')), 14);
    const dec2 = new SnappyFrameDecoder();
    const err = await new Promise((r) => (dec2.on('error', r), dec2.end(bad)));
    expect((err as P2prcError).code).toBe('E_PROTOCOL');
  });
});

describe('yamux decoder fuzz', () => {
  it('random bytes only raise coded errors and data never exceeds the window', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          for (const f of new YamuxDecoder(() => 64).push(Buffer.from(bytes)))
            if (f.body) expect(f.body.length).toBeLessThanOrEqual(64);
        } catch (e) {
          expect(e).toBeInstanceOf(P2prcError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
