import { setTimeout as delay } from 'node:timers/promises';
import { P2prcError, toP2prcError } from '../errors.js';
import { assignedPort } from '../protocol/port-retry.js';
import type { FrpAdminApi } from './config.js';

/** One proxy as frpc's `GET /api/status` reports it (frp 0.31 to 0.6x: `{ tcp: [...], udp: [...] }`, keyed by type). */
export interface FrpcProxyStatus {
  name: string;
  /** "running", "wait start", "start error", ... */
  status: string;
  err: string;
  /** The public port, from remote_addr ("203.0.113.10:6000"); undefined until frps answered. */
  remotePort: number | undefined;
}

const MAX_BODY = 1024 * 1024;

async function call(admin: FrpAdminApi, path: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const auth = Buffer.from(`${admin.user}:${admin.password}`).toString('base64');
  let res: Response;
  try {
    res = await fetch(`http://127.0.0.1:${admin.port}${path}`, {
      headers: { authorization: `Basic ${auth}` },
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new P2prcError('E_UNREACHABLE', `frpc's admin API on 127.0.0.1:${admin.port} did not answer ${path}`, {
      cause: err,
    });
  }
  const text = await res.text();
  if (text.length > MAX_BODY) throw new P2prcError('E_PROTOCOL', `frpc's ${path} answer is over 1 MiB`);
  if (!res.ok)
    throw new P2prcError('E_PROTOCOL', `frpc's admin API answered ${path} with ${res.status}: ${text.slice(0, 200)}`);
  return text;
}

/** Reads every proxy's state from frpc's admin API. */
export async function readFrpcStatus(
  admin: FrpAdminApi,
  timeoutMs = 3_000,
  signal?: AbortSignal,
): Promise<Map<string, FrpcProxyStatus>> {
  const text = await call(admin, '/api/status', timeoutMs, signal);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new P2prcError('E_PROTOCOL', `frpc's /api/status is not JSON: ${text.slice(0, 200)}`, { cause: err });
  }
  const found = new Map<string, FrpcProxyStatus>();
  if (typeof body !== 'object' || body === null) return found;
  for (const list of Object.values(body as Record<string, unknown>)) {
    if (!Array.isArray(list)) continue;
    for (const p of list as Array<Record<string, unknown>>) {
      if (typeof p?.name !== 'string') continue;
      found.set(p.name, {
        name: p.name,
        status: typeof p.status === 'string' ? p.status : '',
        err: typeof p.err === 'string' ? p.err : '',
        remotePort: typeof p.remote_addr === 'string' && !p.err ? assignedPort(p.remote_addr) : undefined,
      });
    }
  }
  return found;
}

/** Has frpc read its config file again (`GET /api/reload`): changed proxies are closed and registered anew. */
export async function reloadFrpc(admin: FrpAdminApi, timeoutMs = 3_000, signal?: AbortSignal): Promise<void> {
  await call(admin, '/api/reload', timeoutMs, signal);
}

/**
 * Reads the status until `settled` holds for it, for up to `limitMs`. frpc logs no line when its admin
 * API starts listening (0.31 starts it after the login) nor when a reloaded proxy is back, so this
 * asks again with growing pauses; the limit bounds it, and `signal` ends it early (E_CLOSED).
 */
export async function waitForFrpcStatus(
  admin: FrpAdminApi,
  settled: (status: Map<string, FrpcProxyStatus>) => boolean,
  o: { limitMs?: number; signal?: AbortSignal } = {},
): Promise<Map<string, FrpcProxyStatus>> {
  const limitMs = o.limitMs ?? 10_000;
  const end = Date.now() + limitMs;
  let last: unknown;
  for (let pause = 50; ; pause = Math.min(pause * 2, 500)) {
    if (o.signal?.aborted) throw new P2prcError('E_CLOSED', "stopped while reading frpc's admin API");
    try {
      const status = await readFrpcStatus(admin, 3_000, o.signal);
      if (settled(status)) return status;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() + pause > end)
      throw new P2prcError(
        'E_TIMEOUT',
        `frpc's admin API on 127.0.0.1:${admin.port} did not report the proxies' public ports within ${limitMs} ms`,
        last === undefined ? undefined : { cause: toP2prcError(last) },
      );
    await delay(pause, undefined, { signal: o.signal }).catch(() => undefined);
  }
}
