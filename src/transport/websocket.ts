import type net from 'node:net';
import { Duplex } from 'node:stream';
import { P2prcError, toP2prcError } from '../errors.js';
import {
  encodeWsFrame,
  parseRequestHead,
  websocketAccept,
  WsFrameDecoder,
  WsOp,
  type RequestHead,
  type WsFrame,
} from './websocket-frame.js';

/**
 * A server-side WebSocket carrying a byte stream (frp's `protocol = websocket`): each write goes out as
 * one binary frame, data frames' payloads are read as one stream whatever their opcode (frpc sends
 * "text" frames of binary bytes), pings are answered, a close frame ends the stream. Backpressure is
 * the socket's: reading stops when this stream's buffer is full.
 */
export class WebSocketStream extends Duplex {
  private readonly decoder = new WsFrameDecoder(true);

  constructor(
    private readonly socket: net.Socket,
    rest: Buffer,
  ) {
    super({ allowHalfOpen: false });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.once('end', () => this.push(null));
    socket.once('close', () => this.destroy());
    socket.on('error', (err) => this.destroy(err));
    if (rest.length) this.onData(rest);
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }

  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }

  private onData(chunk: Buffer): void {
    let frames: WsFrame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      // 1002 protocol error / 1009 too big, then the connection goes.
      const code = toP2prcError(err).code === 'E_TOO_LARGE' ? 1009 : 1002;
      this.socket.end(encodeWsFrame(WsOp.close, Buffer.from([code >> 8, code & 0xff])));
      this.destroy(err as Error);
      return;
    }
    for (const f of frames) {
      if (f.opcode === WsOp.ping) this.socket.write(encodeWsFrame(WsOp.pong, f.payload));
      else if (f.opcode === WsOp.close) {
        this.socket.end(encodeWsFrame(WsOp.close, f.payload.subarray(0, 2)));
        this.push(null);
      } else if (f.opcode <= WsOp.binary && f.payload.length && !this.push(f.payload)) this.socket.pause();
    }
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.socket.write(encodeWsFrame(WsOp.binary, chunk), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.socket.end(encodeWsFrame(WsOp.close, Buffer.from([0x03, 0xe8])), done); // 1000 normal closure
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.socket.destroy();
    done(err);
  }
}

/** Reads the HTTP request head from a fresh connection (nothing consumed past it is lost: it is returned as rest). */
export function readRequestHead(socket: net.Socket, timeoutMs: number): Promise<RequestHead> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const finish = (err?: Error, head?: RequestHead) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      if (err) reject(err);
      else resolve(head!);
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        const head = parseRequestHead(buf);
        if (head) finish(undefined, head);
      } catch (err) {
        finish(err as Error);
      }
    };
    const onEnd = () => finish(new P2prcError('E_CLOSED', 'closed during the HTTP request head'));
    const timer = setTimeout(
      () => finish(new P2prcError('E_TIMEOUT', `no complete HTTP request head within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.resume();
  });
}

/**
 * Completes a WebSocket handshake on `path` (RFC 6455 §4.2) and returns the stream. A request for any
 * other path is no protocol of this port: E_PROTOCOL and no answer (the caller closes, as frps does); a
 * malformed upgrade on the path gets an HTTP error status first.
 */
export function acceptWebSocket(socket: net.Socket, head: RequestHead, path: string): WebSocketStream {
  const h = head.headers;
  const refuse = (status: string, why: string): never => {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    throw new P2prcError('E_PROTOCOL', why);
  };
  if (head.method !== 'GET' || head.target.split('?')[0] !== path) {
    throw new P2prcError(
      'E_PROTOCOL',
      `unrecognized protocol (an HTTP request for ${head.method} ${head.target.slice(0, 100)})`,
    );
  }
  const upgrade = (h.upgrade ?? '').toLowerCase() === 'websocket' && /\bupgrade\b/i.test(h.connection ?? '');
  if (!upgrade || !h['sec-websocket-key']) refuse('400 Bad Request', 'not a WebSocket upgrade');
  if (h['sec-websocket-version'] !== '13')
    refuse('426 Upgrade Required\r\nSec-WebSocket-Version: 13', `WebSocket version ${h['sec-websocket-version']}`);
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${websocketAccept(h['sec-websocket-key']!)}\r\n\r\n`,
  );
  return new WebSocketStream(socket, head.rest);
}
