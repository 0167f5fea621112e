import { createHash } from 'node:crypto';
import { P2prcError } from '../errors.js';

/** RFC 6455 opcodes used here. */
export const WsOp = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;
/** The largest frame payload accepted; checked before anything is buffered (frpc writes ≤ 32 KiB frames). */
export const MAX_WS_PAYLOAD = 4 * 1024 * 1024;
/** The largest HTTP request head accepted before the upgrade. */
export const MAX_HEAD = 8 * 1024;

export interface WsFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** Sec-WebSocket-Accept for a client's Sec-WebSocket-Key. */
export function websocketAccept(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

export interface RequestHead {
  method: string;
  target: string;
  /** Lowercased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Bytes after the head (the first frames, when the client did not wait for the 101). */
  rest: Buffer;
}

/** Parses an HTTP/1.1 request head; undefined while incomplete; E_TOO_LARGE past MAX_HEAD, E_PROTOCOL when malformed. Pure. */
export function parseRequestHead(buf: Buffer): RequestHead | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (buf.length > MAX_HEAD) throw new P2prcError('E_TOO_LARGE', `HTTP request head exceeds ${MAX_HEAD} bytes`);
    return undefined;
  }
  if (end > MAX_HEAD) throw new P2prcError('E_TOO_LARGE', `HTTP request head exceeds ${MAX_HEAD} bytes`);
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0]!);
  if (!m) throw new P2prcError('E_PROTOCOL', 'malformed HTTP request line');
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new P2prcError('E_PROTOCOL', 'malformed HTTP header line');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] ? `${headers[name]}, ${value}` : value;
  }
  return { method: m[1]!, target: m[2]!, headers, rest: buf.subarray(end + 4) };
}

/** An unmasked frame, as a server sends. Pure. */
export function encodeWsFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.alloc(2) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (n < 126) head[1] = n;
  else if (n < 65536) {
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

/** Incremental frame decoder over a growing buffer (the ws receiver's shape); masks removed. */
export class WsFrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly requireMask: boolean) {}

  push(chunk: Buffer): WsFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: WsFrame[] = [];
    for (let f = this.next(); f; f = this.next()) out.push(f);
    return out;
  }

  private next(): WsFrame | undefined {
    const b = this.buf;
    if (b.length < 2) return undefined;
    if (b[0]! & 0x70)
      throw new P2prcError('E_PROTOCOL', 'WebSocket frame with reserved bits (no extension was agreed)');
    const masked = (b[1]! & 0x80) !== 0;
    if (this.requireMask && !masked) throw new P2prcError('E_PROTOCOL', 'unmasked WebSocket frame from a client');
    let len = b[1]! & 0x7f;
    let off = 2;
    if (len === 126) {
      if (b.length < 4) return undefined;
      len = b.readUInt16BE(2);
      off = 4;
    } else if (len === 127) {
      if (b.length < 10) return undefined;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(MAX_WS_PAYLOAD))
        throw new P2prcError('E_TOO_LARGE', `WebSocket frame of ${big} bytes exceeds ${MAX_WS_PAYLOAD}`);
      len = Number(big);
      off = 10;
    }
    if (len > MAX_WS_PAYLOAD)
      throw new P2prcError('E_TOO_LARGE', `WebSocket frame of ${len} bytes exceeds ${MAX_WS_PAYLOAD}`);
    const maskAt = off;
    if (masked) off += 4;
    if (b.length < off + len) return undefined;
    const payload = Buffer.from(b.subarray(off, off + len));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= b[maskAt + (i & 3)]!;
    this.buf = b.subarray(off + len);
    return { fin: (b[0]! & 0x80) !== 0, opcode: b[0]! & 0x0f, payload };
  }
}
