import net from 'node:net';
import type { Readable } from 'node:stream';
import { P2prcError, toP2prcError } from '../errors.js';
import type { LogFn } from '../log/logger.js';
import { formatAddress } from '../protocol/address.js';
import { listenTcp } from '../transport/net.js';
import { readUpTo } from '../transport/read.js';
import { VhostRouter } from './router.js';
import { ClientHelloDecoder } from './sni.js';

/** One published TLS service behind the HTTPS virtual-host port, whatever carries it (frp or native tunnel). */
export interface SniRoute {
  /** Who registered it: a proxy name or tunnel id, for logs. */
  owner: string;
  /** Takes a visitor's connection, its ClientHello put back in front, as a TCP tunnel takes a visitor. */
  accept(visitor: net.Socket): void;
}

export interface HttpsVhostOptions {
  /** How long a visitor may take to send its whole ClientHello (the host's handshake timeout). */
  handshakeTimeoutMs: number;
  log: LogFn;
  /**
   * Whether a new connection may start its ClientHello now (each holds at most 16 KiB until routed):
   * a function that gives its place back, or why not (the connection is then closed). Default: all may.
   */
  admit?: (address: string) => (() => void) | string;
}

/**
 * The host's HTTPS virtual-host port (frps's vhost_https_port): reads each connection's TLS ClientHello
 * (bounded in bytes and time), routes it by its server name (SNI) with the HTTP vhost's rules (exact
 * names, then `*.` wildcards; see router.ts) and hands the raw connection, ClientHello first, to the
 * route. TLS is never terminated here: the certificate is the published service's own. A connection
 * without a server name, for an unknown name, or that is not TLS is closed, as frps does.
 */
export class HttpsVhostServer {
  readonly router = new VhostRouter<SniRoute>();
  private readonly server = net.createServer({ noDelay: true, allowHalfOpen: true });
  /** Connections from accept to close, routed or not: ended with the server. */
  private readonly live = new Set<net.Socket>();
  port = 0;

  constructor(private readonly o: HttpsVhostOptions) {
    this.server.on('connection', (socket) => void this.onConnection(socket));
  }

  async listen(port: number, bind: string): Promise<number> {
    this.port = await listenTcp(this.server, port, bind, { name: 'HTTPS vhost port', flag: '--vhost-https-port' });
    return this.port;
  }

  /** Claims the domains for a route, all or none (E_CONFLICT, also for a domain another principal holds); returns the function that gives them back. */
  register(domains: readonly string[], route: SniRoute, principal = ''): () => void {
    return this.router.claim(domains, [], route, principal);
  }

  private async onConnection(socket: net.Socket): Promise<void> {
    this.live.add(socket);
    socket.once('close', () => this.live.delete(socket));
    const onError = () => socket.destroy();
    socket.on('error', onError);
    const remote = formatAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    const admitted = this.o.admit?.(socket.remoteAddress ?? '') ?? (() => {});
    if (typeof admitted === 'string') {
      this.o.log('debug', `https vhost: connection from ${remote} closed: E_QUOTA ${admitted}`);
      return void socket.destroy();
    }
    let route: SniRoute | undefined;
    try {
      const { hello, name } = await readClientHello(socket, this.o.handshakeTimeoutMs);
      route = name === undefined ? undefined : this.router.match(name, '');
      if (!route)
        throw new P2prcError(
          'E_NOT_FOUND',
          name === undefined ? 'ClientHello without a server name' : `no https service for ${name}`,
        );
      socket.unshift(hello);
    } catch (err) {
      const e = toP2prcError(err, 'E_PROTOCOL');
      this.o.log('debug', `https vhost: connection from ${remote} closed: ${e.code} ${e.message}`);
      return void socket.destroy();
    } finally {
      admitted();
    }
    // The route's sink owns the socket from here, its errors included.
    socket.off('error', onError);
    route.accept(socket);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.live) s.destroy();
    });
  }
}

/**
 * The ClientHello's bytes and server name, within one deadline. What has arrived is given to the decoder
 * at once, never more than it asked for: a header it refuses is refused before the bytes it announced.
 */
async function readClientHello(stream: Readable, timeoutMs: number): Promise<{ hello: Buffer; name?: string }> {
  const deadline = Date.now() + timeoutMs;
  const decoder = new ClientHelloDecoder();
  for (let r = decoder.push(Buffer.alloc(0)); ;) {
    if (r.kind === 'name') return { hello: decoder.held, name: r.name };
    if (r.kind === 'none') return { hello: decoder.held };
    const chunk = await readUpTo(stream, r.need, {
      timeoutMs: Math.max(1, deadline - Date.now()),
      what: 'complete TLS ClientHello',
    });
    r = decoder.push(chunk);
  }
}
