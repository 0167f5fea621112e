import http from 'node:http';
import os from 'node:os';
import { readFileSync, statfsSync } from 'node:fs';
import { P2prcError, toP2prcError } from '../errors.js';
import { listenTcp } from '../transport/net.js';
import type { IpTable, IpTableEntry } from './iptable.js';
import { ipTableFile } from './multipart.js';
import { DEFAULT_LIMITS, sanitizeTable, type PeerEntry, type TableLimits } from './validate.js';

export interface NodeServerInfo {
  name: string;
  version: string;
  role: 'node' | 'reverse-proxy';
  publicAddress?: string;
}

export interface NodeServerHooks {
  /** Entries of a table a peer POSTed to /IpTable (P2PRC's exchange), validated and capped. */
  learn?: (entries: PeerEntry[], source: string) => void;
  /** GET /FRPPort: a port where a token-less frp client may log in; throws E_NOT_AVAILABLE to refuse. */
  frpPort?: (udp: boolean) => Promise<number>;
  /** Largest POST /IpTable body read; the same cap the GET exchange puts on a peer's table. */
  maxBodyBytes?: number;
  limits?: TableLimits;
  /** /server_info carries this machine's host name only with `--share-identity`; else an empty string. */
  shareIdentity?: boolean;
}

export const NODE_PATHS = ['/server_info', '/ip_table', '/IpTable', '/FRPPort'];

/**
 * The P2PRC node server: GET /server_info, GET /ip_table (p2prc's exchange), POST /IpTable and
 * GET /FRPPort (P2PRC's, server/server.go). The entry describing this node is read on every
 * request, so it follows the tunnel's state.
 */
export class NodeServer {
  private readonly server: http.Server;
  port = 0;

  constructor(
    private readonly self: () => IpTableEntry,
    private readonly info: () => NodeServerInfo,
    private readonly peers: () => IpTableEntry[] = () => [],
    private readonly hooks: NodeServerHooks = {},
  ) {
    this.server = http.createServer((req, res) => void this.handle(req, res).catch((err) => fail(res, err)));
    this.server.keepAliveTimeout = 5_000;
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
  }

  table(): IpTable {
    return { ip_address: [this.self(), ...this.peers()] };
  }

  /** Binds; throws E_PORT_TAKEN (details.side = 'local') when the port is busy. */
  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    try {
      this.port = await listenTcp(this.server, port, host, { name: 'node server port', flag: '--port' });
    } catch (err) {
      if (err instanceof P2prcError && err.code === 'E_PORT_TAKEN') {
        throw new P2prcError('E_PORT_TAKEN', err.message, { details: { side: 'local', port }, cause: err.cause });
      }
      throw err;
    }
    return this.port;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (fromWebPage(req)) return sendText(res, 403, 'E_AUTH: a web page of another origin may not use a node server');
    const url = new URL(req.url ?? '/', 'http://node');
    const path = url.pathname;
    if (req.method === 'POST' && path === '/IpTable') return this.postIpTable(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    if (path === '/ip_table') return send(res, 200, this.table());
    // P2PRC's SysInfo keys first (its liveness test is "HTTP 200"), p2prc's own beside them.
    if (path === '/server_info')
      return send(res, 200, { ...sysInfo(), ...(this.hooks.shareIdentity ? {} : { Hostname: '' }), ...this.info() });
    if (path === '/FRPPort') return this.frpPort(url.searchParams.get('udp'), res);
    send(res, 404, { error: 'not found', paths: NODE_PATHS });
  }

  /** P2PRC's exchange: the peer's table arrives as the file in form field "json"; the reply is ours. */
  private async postIpTable(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const max = this.hooks.maxBodyBytes ?? 1024 * 1024;
    const body = await readCapped(req, max);
    let parsed: unknown;
    try {
      parsed = JSON.parse(ipTableFile(body, req.headers['content-type']).toString('utf8'));
    } catch (err) {
      throw err instanceof P2prcError
        ? err
        : new P2prcError('E_PROTOCOL', `the "json" file is not JSON: ${(err as Error).message}`);
    }
    const { entries, problems } = sanitizeTable(parsed, this.hooks.limits ?? DEFAULT_LIMITS);
    if (entries.length === 0 && problems.length > 0)
      throw new P2prcError('E_PROTOCOL', `IP table rejected: ${problems[0]}`);
    this.hooks.learn?.(entries, `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0} (POST /IpTable)`);
    send(res, 200, this.table());
  }

  /** Gin's c.String: a bare number in text/plain, which P2PRC's GetFRPServerPort hands to strconv.Atoi. */
  private async frpPort(udp: string | null, res: http.ServerResponse): Promise<void> {
    if (!this.hooks.frpPort)
      throw new P2prcError('E_NOT_AVAILABLE', 'this node is not a reverse-proxy host; it lends no frp port');
    const port = await this.hooks.frpPort(udp !== null && udp !== 'false');
    sendText(res, 200, String(port));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/**
 * A request a browser made for a page of another origin. A multipart POST is a "simple" request: a
 * page anywhere can send one to a node on the visitor's machine or network, no preflight asked, and
 * plant entries the node then polls. Browsers mark such requests (Origin on every POST and on
 * cross-origin requests, Sec-Fetch-Site); P2PRC's Go client and p2prc's own send neither.
 */
function fromWebPage(req: http.IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  return req.headers.origin !== undefined || site === 'cross-site' || site === 'same-site';
}

/** Reads a request body, stopping at `max` bytes (checked per chunk, before buffering more). */
function readCapped(req: http.IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > max) return reject(new P2prcError('E_TOO_LARGE', `body of ${declared} bytes exceeds ${max}`));
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.off('data', onData);
        req.pause();
        reject(new P2prcError('E_TOO_LARGE', `body exceeds ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', (err) => reject(toP2prcError(err, 'E_CLOSED')));
  });
}

const STATUS: Partial<Record<string, number>> = {
  E_PROTOCOL: 400,
  E_TOO_LARGE: 413,
  E_NOT_AVAILABLE: 403,
  E_QUOTA: 503,
};

/** One line saying why, with a status the code implies; a body too large also ends the connection. */
function fail(res: http.ServerResponse, err: unknown): void {
  const e = toP2prcError(err);
  if (res.headersSent) return void res.destroy();
  const status = STATUS[e.code] ?? 500;
  if (status === 413) res.setHeader('connection', 'close');
  sendText(res, status, `${e.code}: ${e.message}`);
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * P2PRC's SysInfo (server/gopsutil.go): what GET /server_info answers on a Go node. RAM and Disk
 * are totals in MiB (gopsutil's bytes / 1024 / 1024); GPU is null where P2PRC found no GPU.
 */
export interface SysInfo {
  Hostname: string;
  Platform: string;
  CPU: string;
  RAM: number;
  Disk: number;
  GPU: null;
}

/** gopsutil's host.Info().Platform is the distribution id on Linux ("debian", "ubuntu"), else the OS name. */
function platform(): string {
  if (process.platform !== 'linux') return process.platform;
  try {
    const id = /^ID="?([^"\n]+)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    return id ?? 'linux';
  } catch {
    return 'linux';
  }
}

function diskMiB(): number {
  try {
    const s = statfsSync(process.platform === 'win32' ? '\\' : '/');
    return Math.floor((s.blocks * s.bsize) / 1024 / 1024);
  } catch {
    return 0;
  }
}

let cached: Omit<SysInfo, 'RAM' | 'Disk'> | undefined;

/** Real values from this machine; the parts that cannot change while we run are read once. */
export function sysInfo(): SysInfo {
  cached ??= { Hostname: os.hostname(), Platform: platform(), CPU: os.cpus()[0]?.model ?? '', GPU: null };
  // Go's field order, so the JSON reads like a Go node's.
  return {
    Hostname: cached.Hostname,
    Platform: cached.Platform,
    CPU: cached.CPU,
    RAM: Math.floor(os.totalmem() / 1024 / 1024),
    Disk: diskMiB(),
    GPU: null,
  };
}
