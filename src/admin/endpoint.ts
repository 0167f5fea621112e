import path from 'node:path';
import { chmod, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { P2prcError } from '../errors.js';
import { isProcessAlive, writeFileAtomic } from '../store/index.js';
import { dial } from '../transport/net.js';

/** Where a running admin server can be reached; holds the token, so the file is private (0600). */
export interface AdminEndpoint {
  role: 'host' | 'client';
  url: string;
  pid: number;
  token: string;
  /** SHA-256 of the admin certificate when it serves HTTPS: pinned, like the host's control port. */
  fingerprint: string | null;
}

const dirOf = (configDir: string) => path.join(configDir, 'admin');
const fileOf = (configDir: string, pid: number) => path.join(dirOf(configDir), `${pid}.json`);

export async function writeAdminEndpoint(configDir: string, e: AdminEndpoint): Promise<void> {
  await mkdir(dirOf(configDir), { recursive: true, mode: 0o700 });
  const file = fileOf(configDir, e.pid);
  await writeFileAtomic(file, `${JSON.stringify(e, null, 2)}\n`);
  await chmod(file, 0o600);
}

export async function removeAdminEndpoint(configDir: string, pid = process.pid): Promise<void> {
  await rm(fileOf(configDir, pid), { force: true });
}

/** Admin servers of live processes with this role; notes of dead processes are skipped (and removed). */
export async function findAdminEndpoints(configDir: string, role: 'host' | 'client'): Promise<AdminEndpoint[]> {
  let names: string[];
  try {
    names = (await readdir(dirOf(configDir))).filter((n) => /^\d+\.json$/.test(n));
  } catch {
    return [];
  }
  const found: AdminEndpoint[] = [];
  for (const name of names) {
    let e: AdminEndpoint;
    try {
      e = JSON.parse(await readFile(path.join(dirOf(configDir), name), 'utf8')) as AdminEndpoint;
    } catch {
      continue; // half-written or foreign: not ours to judge here
    }
    if (!isProcessAlive(e.pid)) {
      await rm(path.join(dirOf(configDir), name), { force: true });
      continue;
    }
    if (e.role === role && typeof e.url === 'string' && typeof e.token === 'string') found.push(e);
  }
  return found;
}

/** GET a JSON route of an admin server, bounded in time; HTTPS is checked against the pinned fingerprint. */
export async function adminGet<T>(e: AdminEndpoint, route: string, timeoutMs = 2_000): Promise<T> {
  const url = new URL(route, e.url);
  const secure = url.protocol === 'https:';
  // The project's own dialer pins the certificate before a single byte (the token) is sent.
  // node:http is loaded here, not with this module, which the offline views and every client load.
  const { default: http } = await import('node:http');
  const { socket } = await dial({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port),
    tls: secure,
    fingerprint: e.fingerprint ?? undefined,
    timeoutMs,
  });
  return new Promise<T>((resolve, reject) => {
    // Plain HTTP framing over the socket dialed above (which is already TLS when the URL says https).
    const req = http.get(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        headers: { authorization: `Bearer ${e.token}` },
        createConnection: () => socket,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200)
            return reject(
              new P2prcError(
                res.statusCode === 401 ? 'E_AUTH' : 'E_PROTOCOL',
                `admin ${route}: HTTP ${res.statusCode}`,
              ),
            );
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
          } catch (err) {
            reject(new P2prcError('E_PROTOCOL', `admin ${route}: bad JSON`, { cause: err }));
          }
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(new P2prcError('E_TIMEOUT', `admin ${route}: no answer within ${timeoutMs} ms`)),
    );
    req.on('error', (err) =>
      reject(
        err instanceof P2prcError
          ? err
          : new P2prcError('E_UNREACHABLE', `admin ${route}: ${err.message}`, { cause: err }),
      ),
    );
  }).finally(() => socket.destroy());
}
