import { randomBytes } from 'node:crypto';
import { P2prcError } from '../errors.js';
import type { ServiceSpec } from '../client/options.js';
import type { HostPort } from '../protocol/parse-address.js';
import { generateSecret } from '../protocol/secret.js';
import { RecordStore, readSecrets, updateSecrets } from '../store/index.js';
import { ownerKey } from '../store/owner-key.js';

/** A service by ID offered in the same run as the tunnels (a config file's `type = "service"`). */
export interface NodeServiceSpec {
  /** Its name in records and Published lines. */
  name: string;
  id: string;
  localPort: number;
  /** Given (the file's `secret`, P2PRC_SECRET); else the one generated for this ID before, else a new one, kept. */
  secret?: string | undefined;
}

/** An offered service: `generated` when its secret was made in this run (print it once). */
export interface OfferedService {
  name: string;
  id: string;
  localPort: number;
  secret: string;
  generated: boolean;
}

/**
 * The secrets of services offered with tunnels: given, or kept in secrets.json (`ownerSecrets`, per
 * host as a `--service` owner keeps them) from an earlier run, or generated now and kept there, so
 * visitors' secret stays the same across restarts.
 */
export async function resolveServices(
  configDir: string,
  hostKey: string,
  specs: NodeServiceSpec[],
): Promise<OfferedService[]> {
  const wanted = specs.filter((s) => s.secret === undefined).map((s) => s.id);
  const kept = (await readSecrets(configDir)).ownerSecrets?.[hostKey] ?? {};
  const fresh = new Set<string>();
  // Generated under the lock: two clients starting at once agree on one secret per ID.
  const secrets = wanted.every((id) => kept[id] !== undefined)
    ? kept
    : await updateSecrets(configDir, (stored) => {
        const map = { ...stored.ownerSecrets?.[hostKey] };
        for (const id of wanted) {
          if (map[id] !== undefined) continue;
          map[id] = generateSecret();
          fresh.add(id);
        }
        stored.ownerSecrets = { ...stored.ownerSecrets, [hostKey]: map };
        return map;
      });
  return specs.map((s) => ({
    name: s.name,
    id: s.id,
    localPort: s.localPort,
    secret: s.secret ?? secrets[s.id]!,
    generated: s.secret === undefined && fresh.has(s.id),
  }));
}

/** What the client's hello carries for them; the owner key binds each ID to this machine. */
export async function serviceSpecs(configDir: string, offered: OfferedService[]): Promise<ServiceSpec[]> {
  if (offered.length === 0) return [];
  const key = await ownerKey(configDir);
  return offered.map((s) => ({
    id: s.id,
    secret: s.secret,
    description: s.name,
    localPort: s.localPort,
    ownerKey: key,
  }));
}

/** Services go through the native engine only: frp has no services by ID. */
export function checkServicesEngine(specs: NodeServiceSpec[] | undefined, engine: string, protocol: string): void {
  if (specs?.length && (engine !== 'native' || protocol !== 'p2prc'))
    throw new P2prcError(
      'E_USAGE',
      `services by ID (${specs.map((s) => s.name).join(', ')}) need the native engine and protocol, not --engine ${engine} --protocol ${protocol}`,
    );
}

/** Records each offered service in reverse_proxy_mapping.json (kind service, no public port); closeAll marks them closed. */
export async function recordServices(configDir: string, proxy: HostPort, offered: OfferedService[]) {
  const store = new RecordStore(configDir);
  const now = new Date().toISOString();
  const ids: string[] = [];
  for (const s of offered) {
    const id = `${process.pid}-${randomBytes(4).toString('hex')}-service-${s.name}`;
    ids.push(id);
    await store.upsertMapping({
      id,
      name: s.name,
      kind: 'service',
      serviceId: s.id,
      protocol: 'tcp',
      engine: 'native',
      localHost: '127.0.0.1',
      localPort: s.localPort,
      publicHost: '',
      publicPort: null,
      proxyHost: proxy.host,
      proxyControlPort: proxy.port,
      pid: process.pid,
      createdAt: now,
      updatedAt: now,
      status: 'active',
    });
  }
  return {
    async closeAll() {
      const at = new Date().toISOString();
      for (const id of ids) await store.updateMapping(id, { status: 'closed', closedAt: at, updatedAt: at });
    },
  };
}
