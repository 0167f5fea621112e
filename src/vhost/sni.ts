import { P2prcError } from '../errors.js';

/**
 * The server name (SNI) of a TLS ClientHello, read without terminating TLS, as frps's vhost_https_port
 * routes (RFC 8446 §4.1.2, RFC 6066 §3). Pure and incremental: given more bytes, it says how many more
 * it needs, the name, or that there is none. A record's length is checked against the cap before a
 * byte of it is awaited, so a peer can make the reader hold at most `maxBytes`; every length inside
 * the ClientHello is checked against what remains of its enclosing field.
 *
 *   record    : u8 type (22 = handshake) | u16 version (3.x) | u16 length (1..16384) | fragment
 *   handshake : u8 type (1 = ClientHello) | u24 length | body, possibly over several records
 *   body      : u16 version | 32 random | u8-len session id | u16-len suites | u8-len compression
 *               | [u16-len extensions: u16 type | u16-len data]; server_name is type 0:
 *               u16-len list of (u8 name type (0 = host_name) | u16-len name)
 */
export const TLS_RECORD_HEADER = 5;
/** TLSPlaintext.length may not exceed 2^14. */
export const TLS_MAX_FRAGMENT = 16384;
/** What the reader may hold before routing: one full record's worth. */
export const MAX_CLIENT_HELLO_BYTES = TLS_MAX_FRAGMENT + TLS_RECORD_HEADER;

export type SniResult =
  /** `need`: how many more bytes to push before the decoder can say more; never past the cap. */
  | { kind: 'more'; need: number }
  | { kind: 'name'; name: string }
  /** A well-formed ClientHello without a host_name. */
  | { kind: 'none' };

const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;
const SERVER_NAME = 0x0000;
const HOST_NAME = 0x00;
const HOST_NAME_RE = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

const malformed = (why: string) => new P2prcError('E_PROTOCOL', `malformed TLS ClientHello: ${why}`);
const tooLarge = (n: number, cap: number) =>
  new P2prcError('E_TOO_LARGE', `TLS ClientHello of ${n} bytes or more exceeds the ${cap}-byte cap`);

/**
 * Incremental: push() any chunking of the connection's first bytes until the answer is not 'more'.
 * Every byte pushed is kept (`held`), to be put back in front of the connection for whoever takes it.
 * Each record is walked once, so the work is linear in the bytes however they are split. Throws
 * E_PROTOCOL (not TLS, or malformed) or E_TOO_LARGE (past `maxBytes`); after a throw it is done with.
 */
export class ClientHelloDecoder {
  private buf = Buffer.alloc(0);
  private length = 0;
  /** Offset of the next record header. */
  private next = 0;
  /** The handshake fragments seen so far, as [start, end) offsets into buf. */
  private readonly fragments: Array<[number, number]> = [];
  private gathered = 0;
  /** 4 + the handshake message's length, once its header has arrived. */
  private messageEnd = -1;
  private result: SniResult | undefined;

  constructor(readonly maxBytes = MAX_CLIENT_HELLO_BYTES) {}

  /** Every byte pushed so far. */
  get held(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  push(chunk: Uint8Array): SniResult {
    if (this.length + chunk.length > this.maxBytes) throw tooLarge(this.length + chunk.length, this.maxBytes);
    if (this.length + chunk.length > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.maxBytes, Math.max(1024, 2 * (this.length + chunk.length))));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    this.buf.set(chunk, this.length);
    this.length += chunk.length;
    if (this.result) return this.result;
    const r = this.walk();
    if (r.kind !== 'more') this.result = r;
    return r;
  }

  /** Takes whole records off the bytes held until the ClientHello is complete, or says what is missing. */
  private walk(): SniResult {
    const b = this.buf;
    for (;;) {
      const off = this.next;
      if (this.length < off + TLS_RECORD_HEADER) return this.more(off + TLS_RECORD_HEADER);
      if (b[off] !== HANDSHAKE)
        throw off === 0
          ? new P2prcError('E_PROTOCOL', 'not a TLS handshake')
          : malformed('another record type inside the ClientHello');
      if (b[off + 1] !== 3) throw malformed(`record version ${b[off + 1]}.${b[off + 2]}`);
      const length = u16(b, off + 3);
      if (length === 0 || length > TLS_MAX_FRAGMENT) throw malformed(`record length ${length}`);
      const end = off + TLS_RECORD_HEADER + length;
      // The message's header is checked as soon as it is here, so a wrong or oversized one is refused unawaited.
      const here: [number, number] = [off + TLS_RECORD_HEADER, Math.min(end, this.length)];
      if (this.messageEnd < 0 && this.gathered + here[1] - here[0] >= 4) this.messageHead(this.handshake(4, here));
      if (this.length < end) return this.more(end);
      this.fragments.push(here);
      this.gathered += length;
      this.next = end;
      if (this.messageEnd >= 0 && this.gathered >= this.messageEnd)
        return serverName(this.handshake(this.messageEnd).subarray(4));
    }
  }

  private messageHead(head: Buffer): void {
    if (head[0] !== CLIENT_HELLO) throw malformed(`handshake type ${head[0]} first`);
    this.messageEnd = 4 + ((head[1]! << 16) | u16(head, 2));
    // Even in one record the message needs a record header: refuse what cannot fit before awaiting it.
    if (this.messageEnd + TLS_RECORD_HEADER > this.maxBytes)
      throw tooLarge(this.messageEnd + TLS_RECORD_HEADER, this.maxBytes);
  }

  /** 'more', up to `total` bytes held in all. */
  private more(total: number): SniResult {
    if (total > this.maxBytes) throw tooLarge(total, this.maxBytes);
    return { kind: 'more', need: total - this.length };
  }

  /** The first n bytes of the handshake stream, joined from its fragments and `partial` (n is at most what they hold). */
  private handshake(n: number, partial?: [number, number]): Buffer {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    for (const [start, end] of partial ? [...this.fragments, partial] : this.fragments) {
      if (at >= n) break;
      at += this.buf.copy(out, at, start, Math.min(end, start + n - at));
    }
    return out;
  }
}

/** Walks the ClientHello body to the server_name extension; every length is checked against what remains. */
function serverName(body: Uint8Array): SniResult {
  const c = new Cursor(body);
  c.skip(2 + 32, 'version and random');
  const sessionId = c.u8();
  if (sessionId > 32) throw malformed(`session id of ${sessionId} bytes`);
  c.skip(sessionId, 'session id');
  const suites = c.u16();
  if (suites < 2 || suites % 2) throw malformed(`cipher suites of ${suites} bytes`);
  c.skip(suites, 'cipher suites');
  const compression = c.u8();
  if (compression < 1) throw malformed('no compression methods');
  c.skip(compression, 'compression methods');
  if (c.left === 0) return { kind: 'none' }; // no extensions at all (TLS 1.2 and older allow it)
  const extensions = c.sub(c.u16(), 'extensions');
  if (c.left !== 0) throw malformed('bytes after the extensions');
  while (extensions.left > 0) {
    const type = extensions.u16();
    const data = extensions.sub(extensions.u16(), 'extension');
    if (type === SERVER_NAME) return hostName(data);
  }
  return { kind: 'none' };
}

function hostName(ext: Cursor): SniResult {
  const list = ext.sub(ext.u16(), 'server name list');
  if (ext.left !== 0) throw malformed('bytes after the server name list');
  while (list.left > 0) {
    const type = list.u8();
    const name = list.bytes(list.u16(), 'server name');
    if (type !== HOST_NAME) continue;
    if (name.length > 253) throw malformed(`host name of ${name.length} bytes`);
    const text = String.fromCharCode(...name).toLowerCase();
    if (!HOST_NAME_RE.test(text)) throw malformed('invalid host name in server_name');
    return { kind: 'name', name: text };
  }
  return { kind: 'none' };
}

/** A bounds-checked reader over one byte range; running past its end is E_PROTOCOL. */
class Cursor {
  private pos = 0;

  constructor(private readonly b: Uint8Array) {}

  get left(): number {
    return this.b.length - this.pos;
  }

  u8(): number {
    return this.bytes(1, 'field')[0]!;
  }

  u16(): number {
    return u16(this.bytes(2, 'length'), 0);
  }

  skip(n: number, what: string): void {
    this.bytes(n, what);
  }

  bytes(n: number, what: string): Uint8Array {
    if (n > this.left) throw malformed(`${what} of ${n} bytes runs past the end`);
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  sub(n: number, what: string): Cursor {
    return new Cursor(this.bytes(n, what));
  }
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}
