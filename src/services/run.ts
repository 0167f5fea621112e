import { randomBytes } from 'node:crypto';
import { formatAddress } from '../protocol/address.js';
import { ServiceVisitor, listServices } from './visit.js';
import type { DirectMode, PathState } from '../direct/visit.js';
import type { ServiceInfo } from '../protocol/messages.js';
import { NodeServer } from '../node/node-server.js';
import { selfEntry } from '../node/iptable.js';
import { RecordStore, readSecrets, updateSecrets, type MappingRecord } from '../store/index.js';
import { ownerKey } from '../store/owner-key.js';
import { VERSION } from '../version.js';
import { normalizeFingerprint, parseFingerprint, storedPin } from '../transport/cert.js';
import type { HostPort } from '../protocol/parse-address.js';
import { resolveToken } from '../modes/node.js';
import { explainPinMismatch, rememberHost } from '../modes/trust.js';
import { NativePublisher } from '../modes/publishers.js';
import { generateSecret } from '../protocol/secret.js';

export interface HostAccessOptions {
  configDir: string;
  proxy: HostPort;
  token?: string | undefined;
  fingerprint?: string | undefined;
  tls?: boolean;
  user?: { name: string; password: string } | undefined;
  /** What is kept after the login (`pinned ...`, `token for ... stored ...`). */
  onStatus?: ((line: string) => void) | undefined;
}

/** Options checked before anything starts: a malformed pin is a usage error, never "no pin". */
function checked<T extends HostAccessOptions>(o: T): T {
  return { ...o, fingerprint: parseFingerprint(o.fingerprint, '--fingerprint') };
}

/**
 * How to reach the host: the flag's token and pin, else the ones kept in secrets.json. `remember`
 * keeps both after a successful login, as tunnel clients do, so the next run needs only the address.
 */
async function access(o: HostAccessOptions) {
  const key = formatAddress(o.proxy.host, o.proxy.port);
  const pins = (await readSecrets(o.configDir)).fingerprints ?? {};
  const token = await resolveToken(o, key);
  return {
    key,
    connect: {
      host: o.proxy.host,
      port: o.proxy.port,
      token,
      tls: o.tls ?? true,
      fingerprint: o.fingerprint ?? storedPin(pins[key], key),
      ...(o.user ? { user: o.user } : {}),
    },
    remember: (fingerprint: string | undefined) =>
      rememberHost(
        o.configDir,
        key,
        { fingerprint: fingerprint ? (normalizeFingerprint(fingerprint) ?? undefined) : undefined, token },
        (line) => o.onStatus?.(line),
      ),
    /** A certificate that differs from the stored pin: the error says how to re-pin on purpose. */
    explain: (err: unknown) => explainPinMismatch(err, key, !o.fingerprint && !!pins[key]),
  };
}

function mapping(o: HostAccessOptions, kind: 'service' | 'visitor', name: string, localPort: number): MappingRecord {
  const now = new Date().toISOString();
  return {
    id: `${process.pid}-${randomBytes(4).toString('hex')}-${kind}-${name}`,
    name,
    kind,
    protocol: 'tcp',
    engine: 'native',
    localHost: '127.0.0.1',
    localPort,
    publicHost: '',
    publicPort: null,
    proxyHost: o.proxy.host,
    proxyControlPort: o.proxy.port,
    pid: process.pid,
    createdAt: now,
    updatedAt: now,
    status: 'active',
  };
}

async function closeMapping(configDir: string, id: string): Promise<void> {
  const at = new Date().toISOString();
  await new RecordStore(configDir).updateMapping(id, { status: 'closed', closedAt: at, updatedAt: at });
}

export interface ServiceOwnerOptions extends HostAccessOptions {
  serviceId: string;
  secret?: string | undefined;
  description?: string;
  /** The service: this local port, or the node server when absent. */
  localPort?: number | undefined;
  nodePort?: number | undefined;
  /** Exit on the first failed login of any kind instead of retrying an unreachable host. */
  exitOnLoginFailure?: boolean;
}

export { OWNER_KEY_FILE, ownerKey } from '../store/owner-key.js';

/** A service offered by ID: its secret (generated when none was given) and the local port it reaches. */
export interface ServiceOwner {
  secret: string;
  generated: boolean;
  target: number;
  close(): Promise<void>;
}

/**
 * `-s --connect-reverse-proxy <host> --service <id>`: offers a service by ID (the local port, or a
 * node server started for it); no public port is opened. Resolves once the host registered it and it
 * is recorded in reverse_proxy_mapping.json; on failure what it started is stopped.
 */
export async function runServiceOwner(o: ServiceOwnerOptions): Promise<ServiceOwner> {
  o = checked(o);
  await new RecordStore(o.configDir).prepare();
  const node: NodeServer = new NodeServer(
    () => selfEntry({ serverPort: node.port }),
    () => ({ name: 'p2prc', version: VERSION, role: 'node' }),
  );
  await node.listen(o.nodePort ?? 0, '127.0.0.1');
  const host = await access(o);
  const kept = (await readSecrets(o.configDir)).ownerSecrets?.[host.key]?.[o.serviceId];
  const secret = o.secret ?? kept ?? generateSecret();
  const target = o.localPort ?? node.port;
  const pub = new NativePublisher({
    ...host.connect,
    exitOnLoginFailure: o.exitOnLoginFailure ?? false,
    tunnels: [],
    services: [
      {
        id: o.serviceId,
        secret,
        description: o.description ?? '',
        localPort: target,
        ownerKey: await ownerKey(o.configDir),
      },
    ],
  });
  if (o.onStatus) pub.on('status', o.onStatus);
  const record = mapping(o, 'service', o.serviceId, target);
  try {
    await pub.start().catch((err: unknown) => {
      throw host.explain(err);
    });
    await host.remember(pub.fingerprint);
    if (secret !== kept) await keepOwnerSecret(o.configDir, host.key, o.serviceId, secret);
    await new RecordStore(o.configDir).upsertMapping(record);
  } catch (err) {
    await pub.close();
    await node.close();
    throw err;
  }
  return {
    secret,
    generated: o.secret === undefined && kept === undefined,
    target,
    async close() {
      await pub.close();
      await node.close();
      await closeMapping(o.configDir, record.id);
    },
  };
}

/**
 * The owner's secret for this host and ID, kept once the host registered the service: visitors'
 * secret survives a restart; a new --secret replaces it.
 */
async function keepOwnerSecret(configDir: string, key: string, id: string, secret: string): Promise<void> {
  await updateSecrets(configDir, (s) => {
    s.ownerSecrets = { ...s.ownerSecrets, [key]: { ...s.ownerSecrets?.[key], [id]: secret } };
  });
}

/** `p2prc --list-services <host>`: the private services registered on a host (token or account needed). */
export async function runListServices(o: HostAccessOptions): Promise<ServiceInfo[]> {
  const host = await access(checked(o));
  return listServices(host.connect, host.remember).catch((err: unknown) => {
    throw host.explain(err);
  });
}

export interface VisitServiceOptions extends HostAccessOptions {
  serviceId: string;
  secret: string;
  localPort: number;
  /** auto (default): direct when the NATs allow, else relayed; only: direct or E_NO_DIRECT; off: relayed. */
  direct?: DirectMode;
  onError?: (line: string) => void;
  /** A later change of path (lost, re-established); the first one is `ServiceVisit.path`. */
  onPath?: (path: PathState) => void;
}

/** A visit in progress: 127.0.0.1:`port` forwards to the service, over `path`. */
export interface ServiceVisit {
  port: number;
  path: PathState;
  close(): Promise<void>;
}

/**
 * `p2prc --visit <id> --host <host> --secret S --local-port P`: opens 127.0.0.1:P (0 = any) and
 * forwards each connection, end-to-end encrypted, to the service; recorded in reverse_proxy_mapping.json.
 * Per-connection failures go to `onError` as "CODE: message".
 */
export async function runVisit(o: VisitServiceOptions): Promise<ServiceVisit> {
  o = checked(o);
  const host = await access(o);
  const visitor = new ServiceVisitor({
    ...host.connect,
    serviceId: o.serviceId,
    secret: o.secret,
    localPort: o.localPort,
    direct: o.direct ?? 'auto',
  });
  if (o.onError) visitor.on('error', (e) => o.onError!(`${e.code}: ${e.message}`));
  const port = await visitor.start().catch((err: unknown) => {
    throw host.explain(err);
  });
  await host.remember(visitor.fingerprint).catch(async (err: unknown) => {
    await visitor.close();
    throw err;
  });
  const record = { ...mapping(o, 'visitor', o.serviceId, port), path: visitor.path.kind };
  const store = new RecordStore(o.configDir);
  await store.upsertMapping(record).catch(async (err: unknown) => {
    await visitor.close();
    throw err;
  });
  // The mapping file tells which path the visitor's connections take now (--view-rpm shows it).
  visitor.on('path', (p) => {
    o.onPath?.(p);
    void store
      .updateMapping(record.id, { path: p.kind, updatedAt: new Date().toISOString() })
      .catch((err: Error) => o.onError?.(`E_CONFIG: cannot record the path change: ${err.message}`));
  });
  return {
    port,
    get path() {
      return visitor.path;
    },
    async close() {
      await visitor.close();
      await closeMapping(o.configDir, record.id);
    },
  };
}
