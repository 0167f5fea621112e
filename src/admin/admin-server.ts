import { DASHBOARD_HTML, LOGIN_HTML } from './pages.js';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { P2prcError } from '../errors.js';
import { listenTcp } from '../transport/net.js';
import { bearerMatches, isLoopback } from './auth.js';
import { hostAllowed, SECURITY_HEADERS } from './browser-guard.js';
import { EventRing } from './events.js';
import { AdminMetrics } from './metrics.js';
import type { AdminEvent, AdminSource, RefusalReason } from './model.js';

export interface AdminServerOptions {
  source: AdminSource;
  /** Every route needs `Authorization: Bearer <token>`. */
  token: string;
  port: number;
  /** Default 127.0.0.1. */
  bind?: string;
  /** Serve HTTPS with this key and certificate. */
  tls?: { key: string; cert: string };
  /** Allow plain HTTP on a non-loopback address (the token then crosses the network in clear). */
  insecure?: boolean;
}

/**
 * The admin server: `/` (dashboard), `/metrics` (Prometheus), `/api/clients`, `/api/tunnels`,
 * `/api/events`. Read-only, bearer-token guarded, bound to loopback unless told otherwise.
 */
export class AdminServer {
  readonly events = new EventRing();
  readonly metrics: AdminMetrics;
  port = 0;
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly o: AdminServerOptions) {
    const bind = o.bind ?? '127.0.0.1';
    if (!isLoopback(bind) && !o.tls && !o.insecure) {
      throw new P2prcError(
        'E_USAGE',
        `admin server on non-loopback address ${bind} needs TLS (--admin-tls) or --admin-insecure`,
      );
    }
    if (!o.token) throw new P2prcError('E_USAGE', 'admin server needs a token');
    this.metrics = new AdminMetrics(o.source);
    const handler: http.RequestListener = (req, res) => void this.handle(req, res);
    this.server = o.tls
      ? https.createServer({ key: o.tls.key, cert: o.tls.cert }, handler)
      : http.createServer(handler);
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  get url(): string {
    const bind = this.o.bind ?? '127.0.0.1';
    return `${this.o.tls ? 'https' : 'http'}://${bind.includes(':') ? `[${bind}]` : bind}:${this.port}/`;
  }

  async listen(): Promise<number> {
    this.port = await listenTcp(this.server, this.o.port, this.o.bind ?? '127.0.0.1', {
      name: 'admin port',
      flag: '--admin-port',
    });
    return this.port;
  }

  /**
   * Records an event for /api/events and the counters it feeds. A refusal with no client (before
   * authentication: a stranger's) is only counted, per reason; the event is returned when it was listed.
   */
  record(event: Omit<AdminEvent, 'seq' | 'time'>): AdminEvent | undefined {
    if (event.type === 'login') this.metrics.loginAccepted();
    if (event.type !== 'refused') return this.events.push(event);
    const reason = event.reason ?? ('protocol' as RefusalReason);
    this.metrics.refused(reason);
    if (event.client !== undefined) return this.events.push(event);
    this.events.stranger({ reason, message: event.message, ...(event.peer !== undefined ? { peer: event.peer } : {}) });
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    try {
      if (!this.o.tls && !hostAllowed(req.headers.host, this.o.bind ?? '127.0.0.1'))
        return send(res, 421, 'text/plain', 'misdirected request: this Host is not the admin server\n');
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return send(res, 405, 'text/plain', 'method not allowed\n', { allow: 'GET, HEAD' });
      if (!bearerMatches(req.headers.authorization, this.o.token)) {
        // A browser opening "/" gets a token prompt (still a 401); everything else a plain 401.
        const html = url.pathname === '/' && (req.headers.accept ?? '').includes('text/html');
        const body = html ? LOGIN_HTML : 'unauthorized: send Authorization: Bearer <token>\n';
        return send(res, 401, html ? 'text/html; charset=utf-8' : 'text/plain', body, {
          'www-authenticate': 'Bearer realm="p2prc"',
        });
      }
      switch (url.pathname) {
        case '/':
          return send(res, 200, 'text/html; charset=utf-8', DASHBOARD_HTML);
        case '/metrics':
          return send(res, 200, this.metrics.contentType, await this.metrics.text());
        case '/api/clients':
          return json(res, { role: this.o.source.role, clients: this.o.source.clients() });
        case '/api/tunnels':
          return json(res, { role: this.o.source.role, tunnels: this.o.source.tunnels() });
        case '/api/events':
          return json(res, {
            events: this.events.list(Number(url.searchParams.get('after') ?? 0) || 0),
            strangers: this.events.strangers(),
          });
        case '/api/stats':
          return json(res, { role: this.o.source.role, ...this.o.source.stats() });
        default:
          return send(res, 404, 'text/plain', 'not found\n');
      }
    } catch (err) {
      send(res, 500, 'text/plain', `internal error: ${(err as Error).message}\n`);
    }
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

function send(
  res: http.ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...SECURITY_HEADERS,
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function json(res: http.ServerResponse, value: unknown): void {
  send(res, 200, 'application/json', `${JSON.stringify(value)}\n`);
}
