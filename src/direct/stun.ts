import { crc32 } from 'node:zlib';
import { isIPv4, isIPv6 } from 'node:net';

/**
 * The part of STUN (RFC 8489) a rendezvous needs: Binding requests in, Binding success responses
 * with XOR-MAPPED-ADDRESS (and FINGERPRINT) out. Pure: bytes in, bytes out. Anything that is not a
 * well-formed Binding request decodes to undefined, so the responder can drop it without a reply
 * (a STUN server never answers garbage, which would make it a reflector).
 */
export const STUN_MAGIC = 0x2112a442;
export const STUN_HEADER = 20;
/** Largest request we look at: ICE checks are a few hundred bytes; nothing legitimate comes near. */
export const STUN_MAX_REQUEST = 1024;

const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const ATTR_FINGERPRINT = 0x8028;
const FINGERPRINT_XOR = 0x5354554e;

export interface BindingRequest {
  transactionId: Buffer;
}

export interface MappedAddress {
  address: string;
  port: number;
}

/** A Binding request's transaction id, or undefined for anything else (responses, indications, junk). */
export function decodeBindingRequest(msg: Buffer): BindingRequest | undefined {
  if (msg.length < STUN_HEADER || msg.length > STUN_MAX_REQUEST) return undefined;
  const type = msg.readUInt16BE(0);
  const length = msg.readUInt16BE(2);
  // The two top bits of a STUN message are zero; attributes are padded to 4 bytes.
  if (type !== BINDING_REQUEST || length % 4 !== 0 || STUN_HEADER + length !== msg.length) return undefined;
  if (msg.readUInt32BE(4) !== STUN_MAGIC) return undefined;
  if (!attributesWellFormed(msg)) return undefined;
  return { transactionId: Buffer.from(msg.subarray(8, 20)) };
}

function attributesWellFormed(msg: Buffer): boolean {
  let off = STUN_HEADER;
  for (let n = 0; off < msg.length && n < 64; n++) {
    if (off + 4 > msg.length) return false;
    const len = msg.readUInt16BE(off + 2);
    off += 4 + Math.ceil(len / 4) * 4;
  }
  return off === msg.length;
}

export function encodeBindingRequest(transactionId: Buffer): Buffer {
  if (transactionId.length !== 12) throw new RangeError('a STUN transaction id is 12 bytes');
  const msg = Buffer.alloc(STUN_HEADER);
  msg.writeUInt16BE(BINDING_REQUEST, 0);
  msg.writeUInt32BE(STUN_MAGIC, 4);
  transactionId.copy(msg, 8);
  return msg;
}

function xorAddress(addr: MappedAddress, transactionId: Buffer): Buffer {
  const v6 = isIPv6(addr.address);
  if (!v6 && !isIPv4(addr.address)) throw new RangeError(`not an IP address: ${addr.address}`);
  const raw = v6 ? ipv6Bytes(addr.address) : Buffer.from(addr.address.split('.').map(Number));
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);
  const body = Buffer.alloc(4 + raw.length);
  body[1] = v6 ? 0x02 : 0x01;
  body.writeUInt16BE(addr.port ^ (STUN_MAGIC >>> 16), 2);
  for (let i = 0; i < raw.length; i++) body[4 + i] = raw[i]! ^ mask[i]!;
  return body;
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const parse = (s: string | undefined) => (s ? s.split(':').filter(Boolean) : []);
  const h = parse(head);
  const t = parse(tail);
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** A Binding success response telling the requester the address and port its packet came from. */
export function encodeBindingResponse(transactionId: Buffer, mapped: MappedAddress): Buffer {
  const addr = xorAddress(mapped, transactionId);
  const msg = Buffer.alloc(STUN_HEADER + 4 + addr.length + 8);
  msg.writeUInt16BE(BINDING_SUCCESS, 0);
  msg.writeUInt16BE(msg.length - STUN_HEADER, 2);
  msg.writeUInt32BE(STUN_MAGIC, 4);
  transactionId.copy(msg, 8);
  msg.writeUInt16BE(ATTR_XOR_MAPPED_ADDRESS, 20);
  msg.writeUInt16BE(addr.length, 22);
  addr.copy(msg, 24);
  const fp = 24 + addr.length;
  msg.writeUInt16BE(ATTR_FINGERPRINT, fp);
  msg.writeUInt16BE(4, fp + 2);
  msg.writeUInt32BE((crc32(msg.subarray(0, fp)) ^ FINGERPRINT_XOR) >>> 0, fp + 4);
  return msg;
}

/** The XOR-MAPPED-ADDRESS of a Binding success response for `transactionId`, or undefined. */
export function decodeBindingResponse(msg: Buffer, transactionId: Buffer): MappedAddress | undefined {
  if (msg.length < STUN_HEADER || msg.readUInt16BE(0) !== BINDING_SUCCESS || msg.readUInt32BE(4) !== STUN_MAGIC)
    return undefined;
  if (
    !msg.subarray(8, 20).equals(transactionId) ||
    STUN_HEADER + msg.readUInt16BE(2) !== msg.length ||
    !attributesWellFormed(msg)
  )
    return undefined;
  for (let off = STUN_HEADER; off + 4 <= msg.length;) {
    const type = msg.readUInt16BE(off);
    const len = msg.readUInt16BE(off + 2);
    if (type === ATTR_XOR_MAPPED_ADDRESS && (len === 8 || len === 20) && off + 4 + len <= msg.length) {
      const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);
      const port = msg.readUInt16BE(off + 6) ^ (STUN_MAGIC >>> 16);
      const raw = Buffer.from(msg.subarray(off + 8, off + 4 + len).map((b, i) => b ^ mask[i]!));
      const address =
        len === 8
          ? [...raw].join('.')
          : Array.from({ length: 8 }, (_, i) => raw.readUInt16BE(i * 2).toString(16)).join(':');
      return { address, port };
    }
    off += 4 + Math.ceil(len / 4) * 4;
  }
  return undefined;
}
