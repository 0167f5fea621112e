/**
 * Record schemas for reverse_proxy_server.json and reverse_proxy_mapping.json (pure; no fs).
 * Validation names the entry and field; unknown fields are allowed and kept on rewrite.
 */
export const RECORDS_VERSION = 1;

export interface ServerRecord {
  id: string;
  address: string;
  controlPort: number;
  fingerprint: string | null;
  tls: boolean;
  version: string | null;
  engine: 'native' | 'frp';
  source: string;
  firstSeen: string;
  lastSeen: string;
  pid?: number;
  [extra: string]: unknown;
}

export interface MappingRecord {
  id: string;
  name: string;
  kind: 'tunnel' | 'service' | 'visitor';
  /** http, https: a route on the host's vhost port; publicHost is then the claimed domain. */
  protocol: 'tcp' | 'udp' | 'http' | 'https';
  engine: 'native' | 'frp' | 'frp-wire';
  localHost: string;
  localPort: number;
  publicHost: string;
  publicPort: number | null;
  proxyHost: string;
  proxyControlPort: number;
  pid: number;
  createdAt: string;
  updatedAt: string;
  closedAt?: string;
  /** Set while the owner has lost its host and is retrying; removed when the tunnel is back. */
  reconnectingSince?: string;
  status: 'active' | 'closed';
  [extra: string]: unknown;
}

export interface ServersFile {
  version: number;
  servers: ServerRecord[];
  [extra: string]: unknown;
}

export interface MappingsFile {
  version: number;
  mappings: MappingRecord[];
  [extra: string]: unknown;
}

type Check = (v: unknown) => boolean;
const str: Check = (v) => typeof v === 'string' && v.length > 0 && v.length <= 1024;
const anyStr: Check = (v) => typeof v === 'string' && v.length <= 1024;
const port: Check = (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535;
const pid: Check = (v) => Number.isInteger(v) && (v as number) > 0;
const bool: Check = (v) => typeof v === 'boolean';
const date: Check = (v) => typeof v === 'string' && !Number.isNaN(Date.parse(v));
const nullable =
  (c: Check): Check =>
  (v) =>
    v === null || c(v);
const optional =
  (c: Check): Check =>
  (v) =>
    v === undefined || c(v);
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v);

const SERVER: Record<string, Check> = {
  id: str,
  address: str,
  controlPort: port,
  fingerprint: nullable(str),
  tls: bool,
  version: nullable(anyStr),
  engine: oneOf('native', 'frp'),
  source: str,
  firstSeen: date,
  lastSeen: date,
  pid: optional(pid),
};

const MAPPING: Record<string, Check> = {
  id: str,
  name: str,
  kind: oneOf('tunnel', 'service', 'visitor'),
  protocol: oneOf('tcp', 'udp', 'http', 'https'),
  engine: oneOf('native', 'frp', 'frp-wire'),
  localHost: str,
  localPort: port,
  publicHost: anyStr,
  publicPort: nullable(port),
  proxyHost: str,
  proxyControlPort: port,
  pid,
  createdAt: date,
  updatedAt: date,
  closedAt: optional(date),
  reconnectingSince: optional(date),
  status: oneOf('active', 'closed'),
};

function checkEntry(entry: unknown, schema: Record<string, Check>, where: string): string | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return `${where} is not an object`;
  const e = entry as Record<string, unknown>;
  for (const [field, check] of Object.entries(schema)) {
    if (!check(e[field])) return `${where}.${field} is missing or invalid (${JSON.stringify(e[field]) ?? 'undefined'})`;
  }
  return undefined;
}

function checkFile(value: unknown, listKey: string, schema: Record<string, Check>): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'top level is not an object';
  const file = value as Record<string, unknown>;
  if (file.version !== RECORDS_VERSION)
    return `unsupported version ${JSON.stringify(file.version)} (expected ${RECORDS_VERSION})`;
  const list = file[listKey];
  if (!Array.isArray(list)) return `"${listKey}" is not an array`;
  for (let i = 0; i < list.length; i++) {
    const problem = checkEntry(list[i], schema, `${listKey}[${i}]`);
    if (problem) return problem;
  }
  return undefined;
}

/** Returns a description of the first problem, or undefined when the file is valid. */
export function validateServersFile(value: unknown): string | undefined {
  return checkFile(value, 'servers', SERVER);
}

export function validateMappingsFile(value: unknown): string | undefined {
  return checkFile(value, 'mappings', MAPPING);
}

export function validateServer(value: unknown): string | undefined {
  return checkEntry(value, SERVER, 'server');
}

export function validateMapping(value: unknown): string | undefined {
  return checkEntry(value, MAPPING, 'mapping');
}
