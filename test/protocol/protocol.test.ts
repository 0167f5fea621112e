import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  FrameDecoder,
  encodeFrame,
  encodePreamble,
  decodePreamble,
  DEFAULT_MAX_FRAME_SIZE,
} from '../../src/protocol/frame.js';
import { decodeMessage, encodeMessage, MsgType } from '../../src/protocol/messages.js';
import { P2prcError, isP2prcError } from '../../src/errors.js';

describe('framing', () => {
  it('round-trips messages through any chunking', () => {
    const frames = [
      encodeMessage('Ping', { t: 1 }),
      encodeMessage('Register', { tunnelId: 'a', protocol: 'tcp', remotePort: 0, name: 'web', matchLocal: true }),
      encodeMessage('Error', { code: 'E_AUTH', message: 'nope' }),
    ];
    const bytes = Buffer.concat(frames);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: bytes.length }), { maxLength: 20 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const decoder = new FrameDecoder();
        const got = [];
        let last = 0;
        for (const p of [...points, bytes.length]) {
          got.push(...decoder.push(bytes.subarray(last, p)));
          last = p;
        }
        expect(got.map((f) => decodeMessage(f).type)).toEqual(['Ping', 'Register', 'Error']);
      }),
    );
  });

  it('is laid out as u32 length | u8 type | JSON', () => {
    const frame = encodeMessage('Ping', { t: 7 });
    const json = Buffer.from('{"t":7}');
    expect(frame.readUInt32BE(0)).toBe(json.length + 1);
    expect(frame[4]).toBe(MsgType.Ping);
    expect(frame.subarray(5)).toEqual(json);
    expect(encodePreamble()).toEqual(Buffer.from([0x50, 0x32, 0x52, 0x43, 1]));
    expect(decodePreamble(Buffer.from('P2RC\x01', 'latin1'))).toBe(1);
    expect(() => decodePreamble(Buffer.from('GET /', 'latin1'))).toThrow(P2prcError);
  });

  it('rejects an oversized length after 4 bytes, before buffering any payload', () => {
    const decoder = new FrameDecoder(1024);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffffffff);
    let err: unknown;
    try {
      decoder.push(header);
    } catch (e) {
      err = e;
    }
    expect(isP2prcError(err, 'E_TOO_LARGE')).toBe(true);
    expect(() => encodeFrame(1, Buffer.alloc(2048), 1024)).toThrow(/exceeds/);
  });

  it.each([
    [MsgType.Ping, '{"t":"x"}', 'E_PROTOCOL'],
    [MsgType.Ping, 'not json', 'E_PROTOCOL'],
    [200, '{}', 'E_PROTOCOL'],
    [MsgType.Register, '{"tunnelId":"a","protocol":"sctp","remotePort":1,"name":"x","matchLocal":false}', 'E_PROTOCOL'],
    [
      MsgType.Register,
      '{"tunnelId":"a","protocol":"tcp","remotePort":70000,"name":"x","matchLocal":false}',
      'E_PROTOCOL',
    ],
    [MsgType.Auth, '{"nonce":"zz","mac":"00"}', 'E_PROTOCOL'],
    [MsgType.Error, '{"code":"E_NOPE","message":"x"}', 'E_PROTOCOL'],
  ])('rejects message type %i with body %s', (type, body, code) => {
    expect(() => decodeMessage({ type, payload: Buffer.from(body) })).toThrow(expect.objectContaining({ code }));
  });

  it('fuzz: random bytes only ever raise coded errors and never buffer past the cap', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
        const decoder = new FrameDecoder(256);
        try {
          for (const c of chunks) {
            for (const f of decoder.push(Buffer.from(c))) {
              try {
                decodeMessage(f);
              } catch (e) {
                expect(e).toBeInstanceOf(P2prcError);
              }
            }
            expect(decoder.pending).toBeLessThanOrEqual(256 + 4 + 300);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(P2prcError);
          expect(['E_TOO_LARGE', 'E_PROTOCOL']).toContain((e as P2prcError).code);
        }
      }),
      { numRuns: 500 },
    );
    expect(DEFAULT_MAX_FRAME_SIZE).toBeGreaterThanOrEqual(65_507 + 5 + 256); // room for a maximal UDP datagram frame
  });
});
