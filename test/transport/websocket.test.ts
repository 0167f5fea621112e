import net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { acceptWebSocket, readRequestHead } from '../../src/transport/websocket.js';
import {
  encodeWsFrame,
  parseRequestHead,
  websocketAccept,
  WsFrameDecoder,
  WsOp,
  MAX_WS_PAYLOAD,
} from '../../src/transport/websocket-frame.js';
import { listen } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

/** A client frame: masked, as RFC 6455 requires (and as Go's x/net/websocket, frpc's library, sends). */
function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const mask = randomBytes(4);
  const n = payload.length;
  const len =
    n < 126
      ? Buffer.from([0x80 | n])
      : n < 65536
        ? Buffer.from([0x80 | 126, n >> 8, n & 0xff])
        : Buffer.concat([
            Buffer.from([0x80 | 127]),
            (() => {
              const b = Buffer.alloc(8);
              b.writeBigUInt64BE(BigInt(n));
              return b;
            })(),
          ]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode]), len, mask, body]);
}

describe('WebSocket codec (pure)', () => {
  it('the RFC 6455 sample key', () =>
    expect(websocketAccept('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo='));

  it('decodes masked frames of every length encoding, split anywhere', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 70_000 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 5000 }),
        (payloads, step) => {
          const wire = Buffer.concat(payloads.map((p) => clientFrame(WsOp.binary, Buffer.from(p))));
          const d = new WsFrameDecoder(true);
          const got: Buffer[] = [];
          for (let i = 0; i < wire.length; i += step)
            for (const f of d.push(wire.subarray(i, i + step))) got.push(f.payload);
          expect(Buffer.concat(got).equals(Buffer.concat(payloads.map((p) => Buffer.from(p))))).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('refuses unmasked client frames, reserved bits and over-long lengths before buffering them', () => {
    expect(() => new WsFrameDecoder(true).push(encodeWsFrame(WsOp.binary, Buffer.from('x')))).toThrow(
      expect.objectContaining({ code: 'E_PROTOCOL' }),
    );
    expect(() => new WsFrameDecoder(false).push(Buffer.from([0xc2, 0x00]))).toThrow(
      expect.objectContaining({ code: 'E_PROTOCOL' }),
    );
    const huge = Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff]); // 2 GiB announced, nothing sent
    expect(() => new WsFrameDecoder(true).push(huge)).toThrow(expect.objectContaining({ code: 'E_TOO_LARGE' }));
    expect(MAX_WS_PAYLOAD).toBeLessThan(2 ** 31);
  });

  it('request heads: incomplete, complete with the rest, too large, malformed', () => {
    expect(parseRequestHead(Buffer.from('GET /~!frp HTTP/1.1\r\nHost: a'))).toBeUndefined();
    const h = parseRequestHead(Buffer.from('GET /~!frp HTTP/1.1\r\nUpgrade: websocket\r\nX: 1\r\nx: 2\r\n\r\nREST'))!;
    expect(h).toMatchObject({ method: 'GET', target: '/~!frp', headers: { upgrade: 'websocket', x: '1, 2' } });
    expect(h.rest.toString()).toBe('REST');
    expect(() => parseRequestHead(Buffer.alloc(9000, 'a'))).toThrow(expect.objectContaining({ code: 'E_TOO_LARGE' }));
    expect(() => parseRequestHead(Buffer.from('HELLO\r\n\r\n'))).toThrow(
      expect.objectContaining({ code: 'E_PROTOCOL' }),
    );
  });
});

describe('acceptWebSocket', () => {
  async function server(onStream: (s: NodeJS.ReadWriteStream) => void): Promise<number> {
    return listen(
      net.createServer(async (socket) => {
        socket.on('error', () => socket.destroy());
        try {
          const head = await readRequestHead(socket, 5_000);
          onStream(acceptWebSocket(socket, head, '/~!frp'));
        } catch {
          // refused with an HTTP status already
        }
      }),
    );
  }

  it('upgrades on the path, then carries bytes both ways; pings are answered', async () => {
    const port = await server((s) => s.pipe(s)); // echo through the stream
    const c = net.connect(port, '127.0.0.1');
    defer(() => c.destroy());
    await once(c, 'connect');
    c.write(
      'GET /~!frp HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    c.write(
      Buffer.concat([
        clientFrame(WsOp.text, Buffer.from('hello ')),
        clientFrame(WsOp.ping, Buffer.from('p')),
        clientFrame(WsOp.binary, Buffer.from('world')),
      ]),
    );
    let got = Buffer.alloc(0);
    const decoder = new WsFrameDecoder(false);
    const frames: Array<{ opcode: number; text: string }> = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`got ${got.toString('latin1')}`)), 10_000);
      c.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        const end = got.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = got.subarray(0, end).toString();
        expect(head).toContain('101 Switching Protocols');
        expect(head).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
        for (const f of decoder.push(got.subarray(end + 4)))
          frames.push({ opcode: f.opcode, text: f.payload.toString() });
        got = got.subarray(0, end + 4);
        if (
          frames
            .map((f) => f.text)
            .join('')
            .includes('world')
        ) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    expect(frames.find((f) => f.opcode === WsOp.pong)?.text).toBe('p');
    expect(
      frames
        .filter((f) => f.opcode === WsOp.binary)
        .map((f) => f.text)
        .join(''),
    ).toBe('hello world');
  });

  it('another path is no protocol of this port: closed without an answer, as frps does', async () => {
    const port = await listen(
      net.createServer(async (socket) => {
        socket.on('error', () => socket.destroy());
        try {
          acceptWebSocket(socket, await readRequestHead(socket, 5_000), '/~!frp');
        } catch {
          socket.destroy(); // what the host's front door does with E_PROTOCOL
        }
      }),
    );
    const c = net.connect(port, '127.0.0.1');
    defer(() => c.destroy());
    c.write(
      'GET /other HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: a\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    let text = '';
    c.on('data', (d) => (text += d));
    await once(c, 'close');
    expect(text).toBe('');
  });
});
