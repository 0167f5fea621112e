import { EventEmitter } from 'node:events';
import { P2prcError, toP2prcError } from '../errors.js';
import { debug } from '../log.js';
import { DEFAULT_LIMITS, entryIdentity, sanitizeTable, type PeerEntry, type TableLimits } from './validate.js';
import type { IpTableEntry } from './iptable.js';

export interface ExchangeOptions {
  /** This node's own entry (excluded from the peers it learns). */
  self: () => IpTableEntry;
  /** Node servers to pull from, "host:port" or URLs. */
  bootstrap: string[];
  intervalMs?: number;
  timeoutMs?: number;
  /** Entries not seen for this long are dropped. */
  staleMs?: number;
  /** Largest response body accepted from a peer. */
  maxBodyBytes?: number;
  limits?: TableLimits;
}

interface Known {
  entry: PeerEntry;
  lastSeen: number;
  source: string;
}

export interface ExchangeEvents {
  /** A reverse-proxy host learned or seen again, with the node that told us. */
  proxy: [PeerEntry, string];
  log: [string];
  round: [{ peers: number; polled: number }];
}

function toUrl(node: string): string {
  const base = /^https?:\/\//.test(node) ? node : `http://${node}`;
  return `${base.replace(/\/$/, '')}/ip_table`;
}

/**
 * P2PRC-style IP table exchange: every round pulls /ip_table from the bootstrap nodes and every node
 * already known, in parallel and each bounded in time and size, merges entries by node identity,
 * and forgets nodes not seen for `staleMs`. Hostile tables are rejected or capped, with a reason.
 */
export class IpTableExchange extends EventEmitter<ExchangeEvents> {
  private readonly known = new Map<string, Known>();
  private timer: NodeJS.Timeout | undefined;
  private readonly o: Required<Omit<ExchangeOptions, 'self' | 'bootstrap'>> & Pick<ExchangeOptions, 'self' | 'bootstrap'>;
  private running: Promise<void> | undefined;

  constructor(options: ExchangeOptions) {
    super();
    this.o = { intervalMs: 60_000, timeoutMs: 3_000, staleMs: 5 * 60_000, maxBodyBytes: 1024 * 1024, limits: DEFAULT_LIMITS, ...options };
  }

  peers(): PeerEntry[] {
    return [...this.known.values()].map((k) => k.entry);
  }

  start(): void {
    const tick = () => {
      this.running = this.round().finally(() => {
        this.timer = setTimeout(tick, this.o.intervalMs);
        this.timer.unref();
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One exchange round; exposed for tests and for `--bootstrap` at start. */
  async round(): Promise<void> {
    const selfId = entryIdentity(this.o.self());
    const targets = new Set(this.o.bootstrap.map(toUrl));
    for (const k of this.known.values()) targets.add(toUrl(`${k.entry.IPV4 || `[${k.entry.IPV6}]`}:${k.entry.ServerPort}`));
    targets.delete(toUrl(selfId));
    await Promise.all([...targets].map((url) => this.pull(url, selfId)));
    const cutoff = Date.now() - this.o.staleMs;
    for (const [id, k] of this.known) if (k.lastSeen < cutoff) this.known.delete(id);
    this.emit('round', { peers: this.known.size, polled: targets.size });
  }

  private async pull(url: string, selfId: string): Promise<void> {
    let body: unknown;
    try {
      body = parseTable(await fetchCapped(url, this.o.timeoutMs, this.o.maxBodyBytes));
    } catch (err) {
      const e = toP2prcError(err, 'E_UNREACHABLE');
      debug(e.code, `ip_table from ${url} ignored`, { reason: e.message });
      this.emit('log', `ip_table from ${url} ignored: ${e.message}`);
      return;
    }
    const { entries, problems } = sanitizeTable(body, this.o.limits);
    if (problems.length > 0) this.emit('log', `ip_table from ${url}: ${problems.length} problem(s), first: ${problems[0]}`);
    const now = Date.now();
    for (const entry of entries) {
      const id = entryIdentity(entry);
      if (id === selfId) continue;
      if (!this.known.has(id) && this.known.size >= this.o.limits.maxEntries) continue;
      this.known.set(id, { entry, lastSeen: now, source: url });
      if (entry.ProxyServer && entry.ReverseProxy) this.emit('proxy', entry, url.replace(/\/ip_table$/, ''));
    }
  }
}

function parseTable(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new P2prcError('E_PROTOCOL', (err as Error).message, { cause: err });
  }
}

/**
 * GET with a time bound and a body-size bound (checked while streaming, before buffering more).
 * Failures are coded: a peer answering an HTTP error is E_PROTOCOL, a body over the cap E_TOO_LARGE,
 * no answer in time E_TIMEOUT, anything else on the way E_UNREACHABLE.
 */
async function fetchCapped(url: string, timeoutMs: number, maxBytes: number): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok || !res.body) throw new P2prcError('E_PROTOCOL', `HTTP ${res.status}`, { details: { status: res.status } });
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > maxBytes) throw new P2prcError('E_TOO_LARGE', `body of ${declared} bytes exceeds ${maxBytes}`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += chunk.length;
      if (size > maxBytes) throw new P2prcError('E_TOO_LARGE', `body exceeds ${maxBytes} bytes`);
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (err instanceof P2prcError) throw err;
    const timedOut = (err as Error).name === 'TimeoutError';
    throw new P2prcError(timedOut ? 'E_TIMEOUT' : 'E_UNREACHABLE', (err as Error).message, { cause: err });
  }
}
