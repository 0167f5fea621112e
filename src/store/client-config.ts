import { readFile } from 'node:fs/promises';
import { parse } from 'smol-toml';
import { P2prcError } from '../errors.js';
import { TUNNEL_NAME, parseHostPort, type ExposeSpec } from '../protocol/parse-address.js';

/**
 * A client's config file (`p2prc -s -c p2prc.toml`): the host, how to reach it, and every tunnel,
 * as frp users keep them in one frpc.toml. Checked once, here: anything wrong is E_CONFIG naming the
 * file, the line and the key.
 */
export interface ClientConfigFile {
  file: string;
  host?: string;
  token?: string;
  fingerprint?: string;
  tls?: boolean;
  protocol?: 'p2prc' | 'frp';
  engine?: 'native' | 'frp' | 'auto';
  /** The secret of `type = "service"` tunnels. */
  secret?: string;
  tunnels: ConfigTunnel[];
}

export type ConfigTunnel =
  (ExposeSpec & { name: string }) | { name: string; protocol: 'service'; id: string; localPort: number };

const TOP = ['host', 'token', 'fingerprint', 'tls', 'protocol', 'engine', 'secret', 'tunnels'] as const;
const TUNNEL_KEYS = ['name', 'type', 'localPort', 'remotePort', 'domain', 'id'] as const;
const TYPES = ['tcp', 'udp', 'http', 'https', 'service'] as const;

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where a key is written: the line of `key =` at the top (before any table), or in the i-th [[tunnels]]. */
function lineOf(text: string, key: string, tunnel?: number): number | undefined {
  const lines = text.split(/\r?\n/);
  const assigns = new RegExp(`^\\s*["']?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*=`);
  let table = -1;
  let header: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^\s*\[\[\s*tunnels\s*\]\]/.test(l)) {
      table++;
      if (table === tunnel) header = i + 1;
      continue;
    }
    if (/^\s*\[/.test(l)) table = Number.NaN;
    if ((tunnel === undefined ? table === -1 : table === tunnel) && assigns.test(l)) return i + 1;
  }
  return header;
}

export async function loadClientConfig(file: string): Promise<ClientConfigFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new P2prcError('E_CONFIG', `cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseClientConfig(text, file);
}

/** Parses and checks a config file's text; `file` names it in errors. */
export function parseClientConfig(text: string, file: string): ClientConfigFile {
  let doc: Table;
  try {
    doc = parse(text) as Table;
  } catch (err) {
    const e = err as Error & { line?: number; column?: number };
    const first = e.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
    const at = e.line !== undefined ? `${e.line}:${e.column ?? 1}` : '?';
    // The key written on that line, when there is one: "name: invalid value".
    const key = /^\s*([A-Za-z0-9_."'-]+)\s*=/.exec(text.split(/\r?\n/)[(e.line ?? 0) - 1] ?? '')?.[1];
    throw new P2prcError('E_CONFIG', `${file}:${at}: ${key ? `${key}: ` : ''}${first}`, { cause: err });
  }
  const fail = (key: string, message: string, tunnel?: number): never => {
    const line = lineOf(text, key.split('.').pop()!, tunnel);
    throw new P2prcError('E_CONFIG', `${file}:${line ?? '?'}: ${key}: ${message}`, { details: { path: file } });
  };
  for (const key of Object.keys(doc))
    if (!(TOP as readonly string[]).includes(key))
      fail(key, `unknown key (known: ${TOP.join(', ')}, and in [[tunnels]]: ${TUNNEL_KEYS.join(', ')})`);
  const str = (key: (typeof TOP)[number]): string | undefined => {
    const v = doc[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') return fail(key, 'must be a non-empty string');
    return v;
  };
  const oneOf = <T extends string>(key: (typeof TOP)[number], values: readonly T[]): T | undefined => {
    const v = doc[key];
    if (v === undefined) return undefined;
    if (!values.includes(v as T)) return fail(key, `must be one of ${values.map((x) => `"${x}"`).join(', ')}`);
    return v as T;
  };
  const host = str('host');
  if (host !== undefined)
    try {
      parseHostPort(host, 7000, 'host');
    } catch (err) {
      fail('host', (err as Error).message);
    }
  if (doc.tls !== undefined && typeof doc.tls !== 'boolean') fail('tls', 'must be true or false');
  if (doc.tunnels !== undefined && (!Array.isArray(doc.tunnels) || !doc.tunnels.every(isTable)))
    fail('tunnels', 'must be tables: [[tunnels]]');
  const tunnels = ((doc.tunnels ?? []) as Table[]).map((t, i) => tunnelOf(t, i, fail));
  const seen = new Set<string>();
  tunnels.forEach((t, i) => {
    if (seen.has(t.name)) fail(`tunnels[${i}].name`, `"${t.name}" is used by an earlier tunnel`, i);
    seen.add(t.name);
  });
  return {
    file,
    tunnels,
    ...defined({
      host,
      token: str('token'),
      fingerprint: str('fingerprint'),
      tls: doc.tls as boolean | undefined,
      protocol: oneOf('protocol', ['p2prc', 'frp'] as const),
      engine: oneOf('engine', ['native', 'frp', 'auto'] as const),
      secret: str('secret'),
    }),
  };
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function tunnelOf(t: Table, i: number, fail: (key: string, message: string, tunnel?: number) => never): ConfigTunnel {
  const at = (key: string) => `tunnels[${i}].${key}`;
  for (const key of Object.keys(t))
    if (!(TUNNEL_KEYS as readonly string[]).includes(key))
      fail(at(key), `unknown key (known in [[tunnels]]: ${TUNNEL_KEYS.join(', ')})`, i);
  const name = t.name;
  if (typeof name !== 'string' || !TUNNEL_NAME.test(name))
    fail(at('name'), name === undefined ? 'missing' : '1-64 letters, digits, -, _ or .', i);
  const type = t.type;
  if (!TYPES.includes(type as (typeof TYPES)[number]))
    fail(at('type'), `${type === undefined ? 'missing' : JSON.stringify(type)}: one of ${TYPES.join(', ')}`, i);
  const port = (key: string, v: unknown) =>
    Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535
      ? (v as number)
      : fail(at(key), v === undefined ? 'missing' : `${JSON.stringify(v)}: a port, 1-65535`, i);
  const localPort = port('localPort', t.localPort);
  const only = (key: string, types: string[]) => {
    if (t[key] !== undefined && !types.includes(type as string))
      fail(at(key), `only for type ${types.join(' or ')}`, i);
  };
  only('remotePort', ['tcp', 'udp']);
  only('domain', ['http', 'https']);
  only('id', ['service']);
  const kind = type as (typeof TYPES)[number];
  if (kind === 'service') {
    if (typeof t.id !== 'string' || !TUNNEL_NAME.test(t.id))
      fail(at('id'), t.id === undefined ? 'missing' : '1-64 letters, digits, -, _ or .', i);
    return { name: name as string, protocol: 'service', id: t.id as string, localPort };
  }
  if (kind === 'http' || kind === 'https') {
    if (typeof t.domain !== 'string' || !/^[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(t.domain))
      fail(at('domain'), t.domain === undefined ? 'missing' : `${JSON.stringify(t.domain)}: a domain name`, i);
    return {
      name: name as string,
      protocol: kind,
      localPort,
      remotePort: 'any',
      domain: (t.domain as string).toLowerCase(),
    };
  }
  const remotePort = t.remotePort === undefined || t.remotePort === 'any' ? 'any' : port('remotePort', t.remotePort);
  return { name: name as string, protocol: kind, localPort, remotePort };
}
