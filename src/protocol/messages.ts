import { P2prcError, isErrorCode, type ErrorCode } from '../errors.js';
import { encodeFrame, type Frame } from './frame.js';
import { MAX_SDP } from './direct.js';

/** Control message types. Numbers are wire values: never renumber, only append. */
export const MsgType = {
  Hello: 1,
  Challenge: 2,
  Auth: 3,
  AuthOk: 4,
  Register: 5,
  PortOffer: 6,
  PortConfirm: 7,
  PortReject: 8,
  Registered: 9,
  RegisterFailed: 10,
  Ping: 11,
  Pong: 12,
  ReqData: 13,
  Bind: 14,
  CloseTunnel: 15,
  Error: 16,
  UdpData: 17,
  RegisterService: 18,
  ServiceRegistered: 19,
  ListServices: 20,
  ServiceList: 21,
  ServiceAuthFailed: 22,
  DirectOffer: 23,
  DirectAnswer: 24,
  DirectRefused: 25,
} as const;
export type MsgTypeName = keyof typeof MsgType;

export type TunnelProtocol = 'tcp' | 'udp';

export interface Messages {
  Hello:
    /** sid, element: the client's CPace session id and element (protocol/control-pake.ts); clients before 0.2 send neither. */
    | { role: 'control'; clientId: string; name: string; agent: string; user?: string; sid?: string; element?: string }
    /** mux: this connection carries yamux streams, one per visitor, instead of one visitor raw. */
    | { role: 'data'; sessionId: string; seq: number; mac: string; mux?: boolean }
    | { role: 'visit'; sessionId: string; seq: number; mac: string; serviceId: string };
  /** userSalt: present when the Hello named a user (the host's users file); fake but stable for unknown names. */
  /** binding: the digest of the host's TLS channel binding (protocol/auth.ts), on TLS connections. */
  /** element, confirm: the host's CPace element and proof; hosts before 0.2 send neither. */
  Challenge: {
    nonce: string;
    hostId: string;
    agent: string;
    userSalt?: string;
    version?: string;
    binding?: string;
    element?: string;
    confirm?: string;
  };
  /** nonce: the Hello's sid; mac: the client's CPace proof. */
  Auth: { nonce: string; mac: string; userMac?: string };
  /** stunPort: the host's STUN binding responder (UDP), absent when it runs none. */
  AuthOk: {
    sessionId: string;
    mac: string;
    heartbeatMs: number;
    publicHost: string;
    graceMs: number;
    stunPort?: number;
    userSig?: string;
  };
  /**
   * protocol http (https): no port of its own, routed on the host's HTTP (HTTPS) vhost port by `domain`
   * (a name without a dot is a subdomain).
   */
  Register: {
    tunnelId: string;
    protocol: TunnelProtocol | 'http' | 'https';
    remotePort: number;
    name: string;
    matchLocal: boolean;
    domain?: string;
  };
  PortOffer: { tunnelId: string; port: number };
  PortConfirm: { tunnelId: string; port: number };
  PortReject: { tunnelId: string; port: number; reason: string };
  Registered: { tunnelId: string; port: number; publicHost: string };
  RegisterFailed: { tunnelId: string; code: ErrorCode; message: string; side: 'host' | 'local' };
  Ping: { t: number };
  Pong: { t: number };
  ReqData: { count: number };
  Bind: { tunnelId: string; visitorId: number; remote: string };
  CloseTunnel: { tunnelId: string };
  Error: { code: ErrorCode; message: string };
  RegisterService: { serviceId: string; description: string; ownerKey?: string | undefined };
  ServiceRegistered: { serviceId: string };
  /** after: the page after this id ('' for the first). Without it (clients before paging) the whole list. */
  ListServices: { after?: string };
  /** next: the cursor for the following page, absent on the last one. */
  ServiceList: { services: ServiceInfo[]; next?: string };
  ServiceAuthFailed: { serviceId: string; visitorId: number };
  /** Direct-path signalling (docs/direct.md): the host routes these by signalId and cannot forge them (MAC). */
  DirectOffer: DirectSignal;
  DirectAnswer: DirectSignal;
  DirectRefused: { serviceId: string; signalId: string; code: ErrorCode; message: string };
  /** Binary, not JSON: u32 visitorId | u8 n | tunnelId (n bytes) | datagram. */
  UdpData: { tunnelId: string; visitorId: number; data: Buffer };
}

export interface DirectSignal {
  serviceId: string;
  signalId: string;
  /** Offers only: the signalling key the MAC is under (protocol/direct.ts). */
  keyId?: string;
  nonce: string;
  sdp: string;
  mac: string;
}

/** What anyone with the host's token may learn about a service: never its secret or owner's address. */
export interface ServiceInfo {
  id: string;
  description: string;
  owner: string;
  online: boolean;
  since: string;
}

export type Message = { [K in MsgTypeName]: { type: K; body: Messages[K] } }[MsgTypeName];

type FieldCheck = (v: unknown) => boolean;
const MAX_STRING = 256;
const str: FieldCheck = (v) => typeof v === 'string' && v.length <= MAX_STRING;
const text: FieldCheck = (v) => typeof v === 'string' && v.length <= 4096;
const hex64: FieldCheck = (v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const uint: FieldCheck = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
const port: FieldCheck = (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535;
const bool: FieldCheck = (v) => typeof v === 'boolean';
const num: FieldCheck = (v) => typeof v === 'number' && Number.isFinite(v);
const oneOf =
  (...values: string[]): FieldCheck =>
  (v) =>
    typeof v === 'string' && values.includes(v);
const code: FieldCheck = (v) => isErrorCode(v);

const optional =
  (c: FieldCheck): FieldCheck =>
  (v) =>
    v === undefined || c(v);
const helloControl = {
  role: oneOf('control'),
  clientId: str,
  name: str,
  agent: str,
  user: optional(str),
  sid: optional(hex64),
  element: optional(hex64),
};
const helloData = { role: oneOf('data'), sessionId: str, seq: uint, mac: hex64, mux: optional(bool) };
const helloVisit = { role: oneOf('visit'), sessionId: str, seq: uint, mac: hex64, serviceId: str };
const serviceId: FieldCheck = (v) => typeof v === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(v);
const serviceList: FieldCheck = (v) =>
  Array.isArray(v) &&
  v.length <= 10_000 &&
  v.every(
    (s) =>
      typeof s === 'object' &&
      s !== null &&
      serviceId((s as ServiceInfo).id) &&
      str((s as ServiceInfo).description) &&
      str((s as ServiceInfo).owner) &&
      bool((s as ServiceInfo).online) &&
      str((s as ServiceInfo).since),
  );

const signalId: FieldCheck = (v) => typeof v === 'string' && /^[A-Za-z0-9]{1,32}$/.test(v);
const sdp: FieldCheck = (v) => typeof v === 'string' && v.length > 0 && v.length <= MAX_SDP;
const directSignal = { serviceId, signalId, keyId: optional(hex64), nonce: hex64, sdp, mac: hex64 };

const SCHEMAS: {
  [K in Exclude<MsgTypeName, 'UdpData'>]: Record<string, FieldCheck> | Array<Record<string, FieldCheck>>;
} = {
  Hello: [helloControl, helloData, helloVisit],
  Challenge: {
    nonce: hex64,
    hostId: str,
    agent: str,
    userSalt: optional(hex64),
    version: optional(str),
    binding: optional(hex64),
    element: optional(hex64),
    confirm: optional(hex64),
  },
  Auth: { nonce: hex64, mac: hex64, userMac: optional(hex64) },
  AuthOk: {
    sessionId: str,
    mac: hex64,
    heartbeatMs: uint,
    publicHost: str,
    graceMs: uint,
    stunPort: optional(port),
    userSig: optional(hex64),
  },
  Register: {
    tunnelId: str,
    protocol: oneOf('tcp', 'udp', 'http', 'https'),
    remotePort: port,
    name: str,
    matchLocal: bool,
    domain: optional(str),
  },
  PortOffer: { tunnelId: str, port },
  PortConfirm: { tunnelId: str, port },
  PortReject: { tunnelId: str, port, reason: str },
  Registered: { tunnelId: str, port, publicHost: str },
  RegisterFailed: { tunnelId: str, code, message: text, side: oneOf('host', 'local') },
  Ping: { t: num },
  Pong: { t: num },
  ReqData: { count: uint },
  Bind: { tunnelId: str, visitorId: uint, remote: str },
  CloseTunnel: { tunnelId: str },
  Error: { code, message: text },
  RegisterService: { serviceId, description: str, ownerKey: optional(hex64) },
  ServiceRegistered: { serviceId },
  ListServices: { after: optional((v) => v === '' || serviceId(v)) },
  ServiceList: { services: serviceList, next: optional(serviceId) },
  ServiceAuthFailed: { serviceId, visitorId: uint },
  DirectOffer: directSignal,
  DirectAnswer: directSignal,
  DirectRefused: { serviceId, signalId, code, message: text },
};

const NAME_BY_TYPE = new Map<number, MsgTypeName>(
  (Object.entries(MsgType) as Array<[MsgTypeName, number]>).map(([name, type]) => [type, name]),
);

function matches(body: Record<string, unknown>, schema: Record<string, FieldCheck>): boolean {
  const keys = Object.keys(schema);
  return keys.every((k) => schema[k]!(body[k]));
}

/** The schema `value` matches; E_PROTOCOL when it matches none. */
function schemaOf(name: Exclude<MsgTypeName, 'UdpData'>, value: unknown): Record<string, FieldCheck> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new P2prcError('E_PROTOCOL', `${name} body is not an object`);
  }
  const spec = SCHEMAS[name];
  const schema = (Array.isArray(spec) ? spec : [spec]).find((s) => matches(value as Record<string, unknown>, s));
  if (!schema) throw new P2prcError('E_PROTOCOL', `${name} message has missing or invalid fields`);
  return schema;
}

/** Validates and returns the body, keeping only the schema's fields (unknown fields from newer peers are dropped). */
function validate(name: Exclude<MsgTypeName, 'UdpData'>, value: unknown): Record<string, unknown> {
  const schema = schemaOf(name, value);
  const body = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(schema)
      .filter((k) => body[k] !== undefined)
      .map((k) => [k, body[k]]),
  );
}

export const MAX_DATAGRAM = 65_507;

function encodeUdp(body: Messages['UdpData'], maxFrameSize?: number): Buffer {
  const id = Buffer.from(body.tunnelId, 'utf8');
  if (id.length > 255 || body.data.length > MAX_DATAGRAM)
    throw new P2prcError('E_TOO_LARGE', `datagram of ${body.data.length} bytes is too large`);
  const head = Buffer.allocUnsafe(5 + id.length);
  head.writeUInt32BE(body.visitorId >>> 0, 0);
  head[4] = id.length;
  id.copy(head, 5);
  return encodeFrame(MsgType.UdpData, Buffer.concat([head, body.data]), maxFrameSize);
}

function decodeUdp(payload: Buffer): Messages['UdpData'] {
  const n = payload.length >= 5 ? payload[4]! : -1;
  if (n < 1 || payload.length < 5 + n) throw new P2prcError('E_PROTOCOL', 'UdpData frame is truncated');
  const data = payload.subarray(5 + n);
  if (data.length > MAX_DATAGRAM) throw new P2prcError('E_TOO_LARGE', 'UdpData datagram exceeds 65,507 bytes');
  return { visitorId: payload.readUInt32BE(0), tunnelId: payload.toString('utf8', 5, 5 + n), data };
}

export function encodeMessage<K extends MsgTypeName>(type: K, body: Messages[K], maxFrameSize?: number): Buffer {
  if (type === 'UdpData') return encodeUdp(body as Messages['UdpData'], maxFrameSize);
  schemaOf(type as Exclude<MsgTypeName, 'UdpData'>, body); // checked, not copied: the copy is for what peers send
  return encodeFrame(MsgType[type], Buffer.from(JSON.stringify(body), 'utf8'), maxFrameSize);
}

export function decodeMessage(frame: Frame): Message {
  const name = NAME_BY_TYPE.get(frame.type);
  if (!name) throw new P2prcError('E_PROTOCOL', `unknown message type ${frame.type}`);
  if (name === 'UdpData') return { type: name, body: decodeUdp(frame.payload) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame.payload.toString('utf8'));
  } catch (err) {
    throw new P2prcError('E_PROTOCOL', `${name} payload is not valid JSON`, { cause: err });
  }
  return { type: name, body: validate(name, parsed) } as Message;
}

// Multiplexed data connections (a Hello of role data with mux): yamux streams, one per visitor, over
// long-lived data connections. Both sides use the same figures.
/** Receive window per stream: 256 KB (yamux's default) caps one stream at 256 KB per event-loop turn
 * of the peer; 2 MB keeps a bulk transfer going while costing nothing on idle streams. */
export const MUX_WINDOW = 2 * 1024 * 1024;
/** What a visitor's stream may grow its window to while it drains fast (bulk; mux/socket-stream.ts). */
export const MUX_MAX_WINDOW = 8 * 1024 * 1024;
/** What all streams of one multiplexed connection may grow by together: memory a peer can make us hold. */
export const MUX_WINDOW_BUDGET = 64 * 1024 * 1024;

/** Streams one multiplexed connection may carry: above the 10,000 visitors one tunnel must hold. */
export const MUX_MAX_STREAMS = 65_536;

/** Multiplexed data connections a client keeps open per session. One: a second one costs each idle
 * client ~25 KB on the host, and while a lost one is reopened visitors fall back to raw connections. */
export const MUX_CONNECTIONS = 1;
