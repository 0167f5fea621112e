import { createHash } from 'node:crypto';
import { P2prcError } from '../../errors.js';

/** frp's v1 wire: type byte | int64 BE length | JSON (max 10,240 bytes), as golib msg/json. */
export const FrpMsg = {
  Login: 0x6f,
  LoginResp: 0x31,
  NewProxy: 0x70,
  NewProxyResp: 0x32,
  CloseProxy: 0x63,
  NewWorkConn: 0x77,
  ReqWorkConn: 0x72,
  StartWorkConn: 0x73,
  NewVisitorConn: 0x76,
  NewVisitorConnResp: 0x33,
  Ping: 0x68,
  Pong: 0x34,
  UDPPacket: 0x75,
  NatHoleVisitor: 0x69,
  NatHoleClient: 0x6e,
  NatHoleResp: 0x6d,
  NatHoleSid: 0x35,
  NatHoleClientDetectOK: 0x64,
} as const;
export const MAX_FRP_MSG = 10_240;
const KNOWN = new Set<number>(Object.values(FrpMsg));

export interface FrpMessage {
  type: number;
  body: Record<string, unknown>;
  /** Bytes it took on the wire (header and body), as decoded. */
  size?: number;
}

export function encodeFrpMessage(type: number, body: object): Buffer {
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  if (json.length > MAX_FRP_MSG)
    throw new P2prcError('E_TOO_LARGE', `frp message of ${json.length} bytes exceeds ${MAX_FRP_MSG}`);
  const out = Buffer.allocUnsafe(9 + json.length);
  out[0] = type;
  out.writeBigInt64BE(BigInt(json.length), 1);
  json.copy(out, 9);
  return out;
}

/** Incremental decoder; unknown types and over-long or negative lengths are errors, as in frp. */
export class FrpMessageDecoder {
  private buf: Buffer = Buffer.alloc(0);

  write(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }

  /** The next whole message, or undefined; one at a time, so a caller can stop where raw bytes begin. */
  read(): FrpMessage | undefined {
    if (this.buf.length < 9) return undefined;
    const type = this.buf[0]!;
    if (!KNOWN.has(type)) throw new P2prcError('E_PROTOCOL', `frp: message type error (0x${type.toString(16)})`);
    const len = this.buf.readBigInt64BE(1);
    if (len < 0n || len > BigInt(MAX_FRP_MSG))
      throw new P2prcError('E_TOO_LARGE', 'frp: message length exceed the limit');
    const n = Number(len);
    if (this.buf.length < 9 + n) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(this.buf.toString('utf8', 9, 9 + n));
    } catch (err) {
      throw new P2prcError('E_PROTOCOL', 'frp: message body is not JSON', { cause: err });
    }
    this.buf = this.buf.subarray(9 + n);
    const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    return { type, body: fields, size: 9 + n };
  }

  push(chunk: Buffer): FrpMessage[] {
    this.write(chunk);
    const out: FrpMessage[] = [];
    for (let m = this.read(); m; m = this.read()) out.push(m);
    return out;
  }

  /** Bytes after the last whole message (a work connection turns raw after StartWorkConn). */
  rest(): Buffer {
    const r = this.buf;
    this.buf = Buffer.alloc(0);
    return r;
  }
}

/** privilege_key = lowercase hex MD5(token || decimal timestamp). */
export function privilegeKey(token: string, timestamp: number): string {
  return createHash('md5')
    .update(token + String(timestamp))
    .digest('hex');
}
