import { EventEmitter } from 'node:events';
import { P2prcError, toP2prcError } from '../errors.js';
import { debug } from '../log/debug.js';
import { DEFAULT_LIMITS, entryIdentity, sanitizeTable, type PeerEntry, type TableLimits } from './validate.js';
import type { IpTable, IpTableEntry } from './iptable.js';
import { goFileUpload } from './multipart.js';
import { requestCapped } from './http-request.js';
import { PollPlan } from './poll-plan.js';

export interface ExchangeOptions {
  /** This node's own entry (excluded from the peers it learns). */
  self: () => IpTableEntry;
  /** Node servers to pull from, "host:port" or URLs. */
  bootstrap: string[];
  /** More nodes to poll, read at the start of each round (the table file, where `--as` adds nodes). */
  extraTargets?: () => Promise<string[]>;
  /** Keeps the table somewhere after each round (given the targets polled); returns where. Awaited by stop(). */
  persist?: (targets: string[]) => Promise<string>;
  intervalMs?: number;
  timeoutMs?: number;
  /** Bound on a P2PRC POST /IpTable: a Go node pings every entry before it answers. */
  postTimeoutMs?: number;
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
  /** `targets` are the base URLs polled this round. */
  round: [{ peers: number; polled: number; targets: string[] }];
  /** The table was kept by `persist` (where). */
  saved: [string];
}

/**
 * P2PRC-style IP table exchange: every round pulls /ip_table from the bootstrap nodes and every node
 * already known, in parallel and each bounded in time and size, merges entries by node identity,
 * and forgets nodes not seen for `staleMs`. Hostile tables are rejected or capped, with a reason.
 * A peer that answers GET /ip_table with 404 is a P2PRC (Go) node: it gets P2PRC's own exchange,
 * POST /IpTable with our table, from then on.
 */
/** How soon after a POST that taught new nodes a round polls them, and how often that may happen. */
const EARLY_ROUND_DELAY_MS = 2_000;
const EARLY_ROUND_GAP_MS = 10_000;

export class IpTableExchange extends EventEmitter<ExchangeEvents> {
  private readonly known = new Map<string, Known>();
  private timer: NodeJS.Timeout | undefined;
  private readonly o: Required<Omit<ExchangeOptions, 'self' | 'bootstrap' | 'extraTargets' | 'persist'>> &
    Pick<ExchangeOptions, 'self' | 'bootstrap' | 'extraTargets' | 'persist'>;
  private running: Promise<void> | undefined;
  private started = false;
  private lastEarlyRound = 0;
  /** Peers (by base URL) that only speak P2PRC's POST /IpTable. */
  private readonly postOnly = new Set<string>();
  /** Which learned nodes get polled (poll-plan.ts): peers cannot aim this node at arbitrary addresses. */
  private readonly plan = new PollPlan();

  constructor(options: ExchangeOptions) {
    super();
    this.o = {
      intervalMs: 60_000,
      timeoutMs: 3_000,
      postTimeoutMs: 15_000,
      staleMs: 5 * 60_000,
      maxBodyBytes: 1024 * 1024,
      limits: DEFAULT_LIMITS,
      ...options,
    };
  }

  peers(): PeerEntry[] {
    return [...this.known.values()].map((k) => k.entry);
  }

  start(): void {
    this.started = true;
    this.tick();
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    this.running = this.round().finally(() => {
      if (!this.started) return;
      this.timer = setTimeout(this.tick, this.o.intervalMs);
      this.timer.unref();
    });
  };

  async stop(): Promise<void> {
    this.started = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /**
   * A table POSTed to our node server (P2PRC's /IpTable). New nodes in it are polled (and, once they
   * answer, written to ip_table.json) in a round a few seconds later rather than at the next regular
   * one; at most one such early round per EARLY_ROUND_GAP_MS, so strangers' POSTs cannot drive polling.
   */
  learn(table: unknown, source: string): void {
    const before = this.known.size;
    this.ingest(table, source);
    if (this.known.size === before || !this.started || !this.timer) return;
    const now = Date.now();
    if (now - this.lastEarlyRound < EARLY_ROUND_GAP_MS) return;
    this.lastEarlyRound = now;
    clearTimeout(this.timer);
    this.timer = setTimeout(this.tick, EARLY_ROUND_DELAY_MS);
    this.timer.unref();
  }

  /** Our table as we serve it: this node first, then every peer we know. */
  table(): IpTable {
    return { ip_address: [this.o.self(), ...this.peers()] };
  }

  /** True when a node (base URL) answered its last poll with an IP table. */
  verified(base: string): boolean {
    return this.plan.verified(base);
  }

  /** One exchange round; exposed for tests and for `--bootstrap` at start. */
  async round(): Promise<void> {
    const selfBase = entryBase(this.o.self());
    const configured = new Set(this.bases(this.o.bootstrap));
    try {
      for (const t of this.bases((await this.o.extraTargets?.()) ?? [])) configured.add(t);
    } catch (err) {
      this.emit('log', `cannot read more nodes to poll: ${(err as Error).message}`);
    }
    if (selfBase) configured.delete(selfBase);
    const learned = this.bases([...this.known.values()].map((k) => entryAddress(k.entry))).filter(
      (b) => b !== selfBase,
    );
    const targets = this.plan.next(configured, learned);
    await Promise.all(targets.map(async (base) => this.plan.result(base, await this.pull(base))));
    const cutoff = Date.now() - this.o.staleMs;
    for (const [id, k] of this.known) if (k.lastSeen < cutoff) this.known.delete(id);
    if (this.o.persist) {
      try {
        this.emit('saved', await this.o.persist(targets));
      } catch (err) {
        this.emit('log', `cannot keep the IP table: ${(err as Error).message}`);
      }
    }
    this.emit('round', { peers: this.known.size, polled: targets.length, targets });
  }

  /** The base URLs of these nodes; one that is not a node address is skipped, and said so. */
  private bases(nodes: string[]): string[] {
    return nodes.flatMap((n) => {
      const base = nodeBase(n);
      if (!base) this.emit('log', `not a node address, not polled: ${JSON.stringify(n)}`);
      return base ? [base] : [];
    });
  }

  /** Polls one node; true when it answered with an IP table (what makes a learned node verified). */
  private async pull(base: string): Promise<boolean> {
    let body: unknown;
    try {
      body = parseTable(await this.fetchTable(base));
      if (!Array.isArray((body as { ip_address?: unknown } | null)?.ip_address))
        throw new P2prcError('E_PROTOCOL', 'the answer is not an IP table');
    } catch (err) {
      const e = toP2prcError(err, 'E_UNREACHABLE');
      debug(e.code, `ip_table from ${base} ignored`, { reason: e.message });
      this.emit('log', `ip_table from ${base} ignored: ${e.message}`);
      return false;
    }
    this.ingest(body, base);
    return true;
  }

  /** GET /ip_table; on 404 (a Go node has no such route) P2PRC's POST /IpTable, remembered per peer. */
  private async fetchTable(base: string): Promise<string> {
    if (!this.postOnly.has(base)) {
      const r = await requestCapped(nodeUrl(base, '/ip_table'), {}, this.o.timeoutMs, this.o.maxBodyBytes);
      if (r.status === 200) return r.body;
      if (r.status !== 404) throw new P2prcError('E_PROTOCOL', `HTTP ${r.status}`, { details: { status: r.status } });
      this.postOnly.add(base);
      this.emit('log', `${base} has no /ip_table: exchanging with P2PRC's POST /IpTable`);
    }
    const upload = ipTableUpload(this.table());
    const r = await requestCapped(
      nodeUrl(base, '/IpTable'),
      { method: 'POST', headers: { 'content-type': upload.contentType }, body: upload.body },
      this.o.postTimeoutMs,
      this.o.maxBodyBytes,
    );
    if (r.status !== 200)
      throw new P2prcError('E_PROTOCOL', `POST /IpTable: HTTP ${r.status}`, { details: { status: r.status } });
    return r.body;
  }

  /** Merges a table a peer gave us (pulled, or POSTed to our node server), validated and capped. */
  ingest(table: unknown, source: string): void {
    const selfId = entryIdentity(this.o.self());
    const { entries, problems } = sanitizeTable(table, this.o.limits);
    if (problems.length > 0)
      this.emit('log', `ip_table from ${source}: ${problems.length} problem(s), first: ${problems[0]}`);
    const now = Date.now();
    for (const entry of entries) {
      const id = entryIdentity(entry);
      if (id === selfId) continue;
      if (!this.known.has(id) && this.known.size >= this.o.limits.maxEntries) continue;
      this.known.set(id, { entry, lastSeen: now, source });
      if (entry.ProxyServer && entry.ReverseProxy) this.emit('proxy', entry, source);
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

/** "host:port" of a peer entry, the IPv6 address bracketed. */
function entryAddress(e: IpTableEntry): string {
  return e.IPV4 ? `${e.IPV4}:${e.ServerPort}` : `[${e.IPV6}]:${e.ServerPort}`;
}

/** The base URL of the node server an entry describes; undefined when the entry names none. */
export function entryBase(e: IpTableEntry): string | undefined {
  return nodeBase(entryAddress(e));
}

/**
 * A node server's base URL (an origin: scheme, host and port) from "host:port", "[v6]:port" or a URL
 * ending at most in /ip_table; undefined for anything else. Parsed by URL, never pasted together: an
 * address that carried a path, a query or credentials would aim the node's requests at them.
 */
export function nodeBase(node: string): string | undefined {
  let u: URL;
  try {
    u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(node) ? node : `http://${node}`);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  if (u.username || u.password || u.search || u.hash || node.includes('?') || node.includes('#')) return undefined;
  if (!['/', '/ip_table', '/ip_table/'].includes(u.pathname)) return undefined;
  return u.origin;
}

/** A path on a node server, resolved against its base URL. */
function nodeUrl(base: string, path: string): string {
  return new URL(path, base).href;
}

/**
 * P2PRC's exchange as its Go client does it (client/clientIPTable/Iptable.go, UpdateIpTable): our
 * table as the file in form field "json" of a POST to /IpTable; the answer is the peer's table.
 * The file is indented as P2PRC's WriteIpTable writes ip_table.json (json.MarshalIndent, one space).
 */
export function ipTableUpload(table: IpTable): { body: Buffer; contentType: string } {
  return goFileUpload('json', 'ip_table.json', Buffer.from(JSON.stringify(table, null, 1)));
}
