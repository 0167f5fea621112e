import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { toP2prcError } from '../errors.js';
import type { LogFn } from '../log/logger.js';
import { listenTcp } from '../transport/net.js';
import type { PairAddress } from '../transport/pair.js';
import { basicAuthOk, bodyFraming, forwardHeaders, requestHost, requestPath, responseHeaders } from './headers.js';
import { VhostRouter } from './router.js';
import { forwardUpgrade } from './upgrade.js';

/** One published HTTP service behind the virtual-host port, whatever carries it (frp or native tunnel). */
export interface VhostRoute {
  /** Who registered it: a proxy name or tunnel id, for logs. */
  owner: string;
  user?: string | undefined;
  password?: string | undefined;
  rewriteHost?: string | undefined;
  headers?: Record<string, string> | undefined;
  /** A fresh connection to the published service, for one request or one upgraded (WebSocket) connection. */
  connect(visitor: PairAddress): Duplex;
}

/** How long a request head may take to arrive whole. */
const HEAD_TIMEOUT_MS = 10_000;

const NOT_FOUND = `<!DOCTYPE html>
<html><head><title>Not Found</title></head>
<body><h1>The page you requested was not found.</h1>
<p>No service is published for this host name and path on this p2prc host.</p></body></html>
`;

/**
 * The host's HTTP virtual-host port (frps's vhost_http_port): routes each request by Host and path
 * (see router.ts), checks basic auth, rewrites headers, and forwards it over a fresh connection to
 * the service, one request per connection as frps does (keep-alive stays between visitor and host).
 * A body goes on with its own framing (Content-Length, or re-chunked), and a request whose framing is
 * ambiguous is refused (400). Upgrades (WebSocket) are relayed raw once the service switched protocols.
 */
export class VhostServer {
  readonly router = new VhostRouter<VhostRoute>();
  private readonly server: http.Server;
  /** Upgraded connections left Node's HTTP server; closed with the host. */
  private readonly upgraded = new Set<net.Socket>();
  /** Connections with a response under way: a parse error on them can no longer be answered. */
  private readonly answering = new WeakSet<Duplex>();
  port = 0;

  /** Connections whose first request head has not arrived yet, with what gives back their admission. */
  private readonly headless = new WeakMap<Duplex, () => void>();

  /**
   * `admit` counts connections still sending their first request head, per source (the control
   * port's limits): a stranger holding unfinished heads cannot take every slot. It answers a release
   * function, or why the connection is refused.
   */
  constructor(
    private readonly log: LogFn,
    admit?: (address: string) => (() => void) | string,
  ) {
    // Node's parser caps the request head (16 KiB) and times out slow heads, checked every 2 s.
    this.server = http.createServer({
      maxHeaderSize: 16 * 1024,
      headersTimeout: HEAD_TIMEOUT_MS,
      requestTimeout: 0,
      connectionsCheckingInterval: 2_000,
    });
    if (admit) this.server.on('connection', (socket: net.Socket) => this.admit(socket, admit));
    this.server.on('request', (req, res) => this.onRequest(req, res));
    this.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      // A head Node's parser refused (bad framing among them) is answered, as frps's Go server does.
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      if (!socket.writable || this.answering.has(socket)) return void socket.destroy();
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
    });
  }

  private admit(socket: net.Socket, admit: (address: string) => (() => void) | string): void {
    const release = admit(socket.remoteAddress ?? '');
    if (typeof release === 'string') {
      this.log('debug', `http vhost: connection from ${socket.remoteAddress ?? '?'} closed: E_QUOTA ${release}`);
      return void socket.destroy();
    }
    let released = false;
    const free = () => {
      if (released) return;
      released = true;
      this.headless.delete(socket);
      release();
    };
    this.headless.set(socket, free);
    socket.once('close', free);
  }

  /** A request head arrived whole: its connection no longer counts as pending. */
  private headArrived(socket: Duplex): void {
    this.headless.get(socket)?.();
  }

  async listen(port: number, bind: string): Promise<number> {
    this.port = await listenTcp(this.server, port, bind, { name: 'HTTP vhost port', flag: '--vhost-http-port' });
    return this.port;
  }

  /**
   * Claims domain x location pairs for a route, all or none; returns the function that gives them back.
   * `principal` is who claims (principals.ts): a domain held by another principal is E_CONFLICT.
   */
  register(domains: readonly string[], locations: readonly string[], route: VhostRoute, principal = ''): () => void {
    return this.router.claim(domains, locations, route, principal);
  }

  private route(req: http.IncomingMessage): VhostRoute | undefined {
    return this.router.match(requestHost(req.url ?? '/', req.headers.host), requestPath(req.url ?? '/'));
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.headArrived(req.socket);
    const framing = bodyFraming(req.rawHeaders);
    if ('error' in framing) return badRequest(res, framing.error);
    const route = this.route(req);
    if (!route) return notFound(res);
    if (!basicAuthOk(route.user, route.password, req.headers.authorization)) {
      res.writeHead(401, {
        'WWW-Authenticate': 'Basic realm="Restricted"',
        'Content-Type': 'text/plain; charset=utf-8',
      });
      return void res.end('Unauthorized\n');
    }
    this.answering.add(req.socket);
    res.once('close', () => this.answering.delete(req.socket));
    const headers = forwardHeaders(req.rawHeaders, {
      rewriteHost: route.rewriteHost,
      headers: route.headers,
      clientIp: req.socket.remoteAddress,
    });
    // Transfer-Encoding is hop-by-hop: set again here, Node chunks the body anew; Content-Length is kept.
    if (framing.chunked) headers.push('Transfer-Encoding', 'chunked');
    const upstream = http.request({
      createConnection: () => route.connect(this.visitorOf(req.socket)),
      method: req.method,
      path: originForm(req.url ?? '/'),
      headers,
      setHost: false,
    });
    upstream.on('response', (r) => {
      res.writeHead(r.statusCode ?? 502, r.statusMessage, responseHeaders(r.rawHeaders));
      r.pipe(res);
      r.on('error', () => res.destroy());
    });
    upstream.on('error', (err) => {
      this.log('debug', `vhost ${route.owner}: ${toP2prcError(err).message}`);
      if (res.headersSent) res.destroy();
      else badGateway(res); // published, but the client or its local service did not answer
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }

  private onUpgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    this.headArrived(socket);
    socket.on('error', () => socket.destroy());
    const refuse = (status: string, extra = ''): void =>
      void socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n${extra}Content-Length: 0\r\n\r\n`);
    const framing = bodyFraming(req.rawHeaders);
    // An upgrade request has no body: one it carried would reach the service ahead of its 101.
    if ('error' in framing || framing.chunked || Number(req.headers['content-length'] ?? 0) > 0)
      return refuse('400 Bad Request');
    const route = this.route(req);
    if (!route) return refuse('404 Not Found');
    if (!basicAuthOk(route.user, route.password, req.headers.authorization))
      return refuse('401 Unauthorized', 'WWW-Authenticate: Basic realm="Restricted"\r\n');
    const headers = forwardHeaders(req.rawHeaders, {
      rewriteHost: route.rewriteHost,
      headers: route.headers,
      clientIp: socket.remoteAddress,
      upgrade: String(req.headers.upgrade ?? 'websocket'),
    });
    forwardUpgrade(
      socket,
      head,
      { method: req.method ?? 'GET', path: originForm(req.url ?? '/'), headers },
      () => route.connect(this.visitorOf(socket)),
      (s) => {
        this.upgraded.add(s);
        s.once('close', () => this.upgraded.delete(s));
      },
      (err) => {
        this.log('debug', `vhost ${route.owner}: ${toP2prcError(err).message}`);
        refuse('502 Bad Gateway');
      },
    );
  }

  private visitorOf(socket: net.Socket): PairAddress {
    return {
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      localAddress: socket.localAddress,
      localPort: this.port,
    };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      for (const s of this.upgraded) s.destroy();
    });
  }
}

function notFound(res: http.ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(NOT_FOUND);
}

function badGateway(res: http.ServerResponse): void {
  res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end('Bad Gateway: the service published for this host name did not answer (is it running?)\n');
}

function badRequest(res: http.ServerResponse, why: string): void {
  res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
  res.end(`Bad Request: ${why}\n`);
}

/** Absolute-form targets (sent to proxies) are forwarded in origin form, as Go's ReverseProxy does. */
function originForm(target: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  if (!m) return target;
  const rest = target.slice(m[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}
