import net from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MAX_HEAD, MAX_WS_PAYLOAD, WebSocketAcceptor } from '../../src/transport/websocket.js';
import { generateSelfSignedCert } from '../../src/transport/cert.js';
import { serverTlsContext, wrapServerTls } from '../../src/transport/net.js';
import { peekByte } from '../../src/transport/read.js';
import { listen } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

const PATH = '/~!frp';
/** RFC 6455's sample key and the accept value it must get. */
const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const SAMPLE_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';
const upgradeHead = (path = PATH, extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${SAMPLE_KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

/** A client frame: masked, as RFC 6455 requires (and as Go's x/net/websocket, frpc's library, sends). */
function clientFrame(opcode: number, payload: Buffer, first = 0x80): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  if (payload.length > 125) throw new Error('short frames only');
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
  return Buffer.concat([Buffer.from([first | opcode, 0x80 | payload.length]), mask, body]);
}

const cert = generateSelfSignedCert('websocket-test');

type Outcome = { stream: Duplex } | { error: { code: string; message: string } };

/**
 * A port that does what the host's front door does with frpc: peeks at the first byte (left in the
 * stream), optionally opens TLS first, then hands the connection to the acceptor. Each connection's
 * outcome is delivered in order; a refused connection is destroyed, as the host does.
 */
async function frontDoor(o: { tls?: boolean; timeoutMs?: number; onStream?: (s: Duplex) => void } = {}) {
  const acceptor = new WebSocketAcceptor(PATH);
  const outcomes: Outcome[] = [];
  const waiters: Array<(o: Outcome) => void> = [];
  const deliver = (x: Outcome) => (waiters.length ? waiters.shift()!(x) : outcomes.push(x));
  const context = o.tls ? serverTlsContext(cert.keyPem, cert.certPem) : undefined;
  const port = await listen(
    net.createServer(async (raw) => {
      raw.on('error', () => raw.destroy());
      defer(() => raw.destroy());
      try {
        await peekByte(raw, 5_000);
        let conn: Duplex = raw;
        if (context) {
          conn = wrapServerTls(raw, context);
          await peekByte(conn, 5_000);
        }
        const stream = await acceptor.accept(conn, o.timeoutMs ?? 5_000);
        stream.on('error', () => stream.destroy());
        o.onStream?.(stream);
        deliver({ stream });
      } catch (err) {
        raw.destroy();
        const e = err as { code: string; message: string };
        deliver({ error: { code: e.code, message: e.message } });
      }
    }),
  );
  const next = () =>
    new Promise<Outcome>((resolve) => (outcomes.length ? resolve(outcomes.shift()!) : waiters.push(resolve)));
  return { port, next };
}

/** A raw client connection: what it has received so far, once `until` holds, or once the server closed it. */
async function rawClient(port: number): Promise<{
  socket: net.Socket;
  until: (holds: (got: Buffer) => boolean) => Promise<Buffer>;
  received: () => Promise<Buffer>;
}> {
  const socket = net.connect(port, '127.0.0.1');
  defer(() => socket.destroy());
  socket.on('error', () => undefined);
  let got = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  const until = async (holds: (got: Buffer) => boolean) => {
    while (!holds(got)) {
      if (isClosed) throw new Error(`closed after ${JSON.stringify(got.toString('latin1'))}`);
      await Promise.race([once(socket, 'data'), closed]);
    }
    return got;
  };
  return { socket, until, received: async () => (await closed, got) };
}

/** The status of the close frame the server sent after its 101 (server frames are unmasked); 1005 when it has none. */
function closeCode(received: Buffer): number | undefined {
  const end = received.indexOf('\r\n\r\n');
  const frame = received.subarray(end + 4);
  if (end < 0 || frame[0] !== 0x88 || frame.length < 2) return undefined;
  return frame[1] === 0 ? 1005 : frame.length >= 4 ? frame.readUInt16BE(2) : undefined;
}

async function wsClient(url: string, options: { rejectUnauthorized?: boolean } = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, options);
  defer(() => ws.terminate());
  await once(ws, 'open');
  return ws;
}

describe('WebSocketAcceptor', () => {
  it('upgrades on the path; "text" frames of any bytes are read as bytes, writes leave as binary frames, pings are answered', async () => {
    const { port } = await frontDoor({ onStream: (s) => s.pipe(s) }); // echo through the stream
    const ws = await wsClient(`ws://127.0.0.1:${port}${PATH}`);
    const notUtf8 = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x41]);
    const echoed = new Promise<{ data: Buffer; isBinary: boolean }>((resolve, reject) => {
      ws.once('message', (data: Buffer, isBinary) => resolve({ data, isBinary }));
      ws.once('close', (code) => reject(new Error(`closed with ${code}`)));
    });
    ws.send(notUtf8, { binary: false }); // a text frame, as frpc sends them
    expect(await echoed).toEqual({ data: notUtf8, isBinary: true });
    const pong = once(ws, 'pong');
    ws.ping('p');
    expect(((await pong) as [Buffer])[0].toString()).toBe('p');
  });

  it("answers RFC 6455's sample key, and reads frames sent with the request before the 101", async () => {
    const { port, next } = await frontDoor();
    const { socket, until } = await rawClient(port);
    socket.write(upgradeHead() + clientFrame(0x1, Buffer.from('hello')).toString('latin1'), 'latin1');
    const outcome = await next();
    if (!('stream' in outcome)) throw new Error(`refused: ${outcome.error.message}`);
    const [data] = (await once(outcome.stream, 'data')) as [Buffer];
    expect(data.toString()).toBe('hello');
    outcome.stream.end(); // a close frame follows (ws then waits for ours, which this client never sends)
    const got = await until((got) => closeCode(got) !== undefined);
    expect(closeCode(got)).toBe(1005);
    const text = got.toString('latin1');
    expect(text).toContain('101 Switching Protocols');
    expect(text).toContain(`Sec-WebSocket-Accept: ${SAMPLE_ACCEPT}`);
  });

  it('takes the request in pieces after the peeked byte, as the first byte alone arrives at the front door', async () => {
    let peeked!: () => void;
    const peekedNow = new Promise<void>((r) => (peeked = r));
    const acceptor = new WebSocketAcceptor(PATH);
    const streams: Duplex[] = [];
    const port = await listen(
      net.createServer(async (raw) => {
        raw.on('error', () => raw.destroy());
        defer(() => raw.destroy());
        await peekByte(raw, 5_000);
        peeked();
        const stream = await acceptor.accept(raw, 5_000);
        streams.push(stream);
        stream.pipe(stream);
      }),
    );
    const { socket, until } = await rawClient(port);
    const head = upgradeHead();
    socket.write(head.slice(0, 1));
    await peekedNow;
    socket.write(head.slice(1, 20));
    socket.write(head.slice(20) + clientFrame(0x2, Buffer.from('x')).toString('latin1'), 'latin1');
    const got = await until((got) => got.includes(Buffer.from([0x82, 0x01, 0x78]))); // "x" echoed in a binary frame
    expect(got.toString('latin1')).toContain('101 Switching Protocols');
  });

  it('upgrades inside TLS (wss), where the host opened TLS on a bare ClientHello', async () => {
    const { port } = await frontDoor({ tls: true, onStream: (s) => s.pipe(s) });
    const ws = await wsClient(`wss://127.0.0.1:${port}${PATH}`, { rejectUnauthorized: false });
    const echoed = once(ws, 'message');
    ws.send(Buffer.from('inside tls'));
    expect(((await echoed) as [Buffer])[0].toString()).toBe('inside tls');
  });

  it('a close from the client ends the stream; ending the stream closes the client', async () => {
    const { port, next } = await frontDoor();
    const ws = await wsClient(`ws://127.0.0.1:${port}${PATH}`);
    const outcome = await next();
    if (!('stream' in outcome)) throw new Error(outcome.error.message);
    outcome.stream.resume();
    const ended = once(outcome.stream, 'end');
    ws.close(1000);
    await ended;

    const ws2 = await wsClient(`ws://127.0.0.1:${port}${PATH}`);
    const second = await next();
    if (!('stream' in second)) throw new Error(second.error.message);
    const closed = once(ws2, 'close');
    second.stream.end();
    await closed;
  });

  it('another path is no protocol of this port: closed without an answer, as frps does', async () => {
    const { port, next } = await frontDoor();
    for (const request of [
      upgradeHead('/other'),
      'GET /other HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET / HTTP/1.1\r\n\r\n', // no Host: Node's server would answer it itself unless told not to
      upgradeHead(PATH).replace('GET', 'PUT'),
    ]) {
      const { socket, received } = await rawClient(port);
      socket.write(request);
      expect(await next()).toMatchObject({
        error: { code: 'E_PROTOCOL', message: expect.stringContaining('unrecognized protocol') },
      });
      expect((await received()).length).toBe(0);
    }
  });

  it('a request on the path that is no valid upgrade gets an HTTP error status, then E_PROTOCOL', async () => {
    const { port, next } = await frontDoor();
    const cases = [
      `GET ${PATH} HTTP/1.1\r\nHost: x\r\n\r\n`, // no upgrade at all
      upgradeHead().replace('Version: 13', 'Version: 12'),
      upgradeHead().replace(SAMPLE_KEY, 'short'),
    ];
    for (const request of cases) {
      const { socket, received } = await rawClient(port);
      socket.write(request);
      expect(await next()).toMatchObject({ error: { code: 'E_PROTOCOL' } });
      expect((await received()).toString('latin1')).toMatch(/^HTTP\/1\.1 400 /);
    }
  });

  it('limits: a head over MAX_HEAD, a frame announcing more than MAX_WS_PAYLOAD (refused before its payload)', async () => {
    const { port, next } = await frontDoor();
    const big = await rawClient(port);
    big.socket.write(`GET ${PATH} HTTP/1.1\r\nX: ${'a'.repeat(MAX_HEAD + 100)}\r\n\r\n`);
    expect(await next()).toMatchObject({ error: { code: 'E_TOO_LARGE' } });
    await big.received();

    const huge = await rawClient(port);
    // One byte over the limit announced (64-bit length), nothing of it sent: closed with 1009 (too big) at once.
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(MAX_WS_PAYLOAD + 1));
    huge.socket.write(Buffer.concat([Buffer.from(upgradeHead()), Buffer.from([0x82, 0xff]), length, Buffer.alloc(4)]));
    const outcome = await next();
    if (!('stream' in outcome)) throw new Error(outcome.error.message);
    expect(closeCode(await huge.received())).toBe(1009);
  });

  it('protocol errors close with 1002: an unmasked client frame, reserved bits set', async () => {
    const { port, next } = await frontDoor();
    const unmasked = Buffer.from([0x82, 0x01, 0x78]);
    const reserved = clientFrame(0x2, Buffer.from('x'), 0xc0);
    for (const frame of [unmasked, reserved]) {
      const { socket, received } = await rawClient(port);
      socket.write(Buffer.concat([Buffer.from(upgradeHead()), frame]));
      const outcome = await next();
      if ('stream' in outcome) outcome.stream.resume();
      expect(closeCode(await received())).toBe(1002);
    }
  });

  it('a client that stops in the middle of its request head: E_TIMEOUT', async () => {
    const { port, next } = await frontDoor({ timeoutMs: 200 });
    const { socket } = await rawClient(port);
    socket.write('GET /~!frp HTTP/1.1\r\nHost');
    expect(await next()).toMatchObject({ error: { code: 'E_TIMEOUT' } });
  });
});
