import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { P2prcError, toP2prcError } from '../errors.js';

/**
 * The largest WebSocket message accepted (frpc writes frames of at most 32 KiB). ws checks each
 * frame's announced length against it before buffering, and closes with 1009 past it.
 */
export const MAX_WS_PAYLOAD = 4 * 1024 * 1024;
/** The largest HTTP request head accepted before the upgrade. */
export const MAX_HEAD = 8 * 1024;

/** ws is loaded with the first upgrade: few hosts see one, and it takes longer to load than a command's own code. */
let wsModule: Promise<typeof import('ws')> | undefined;
const loadWs = (): Promise<typeof import('ws')> => (wsModule ??= import('ws'));

interface Pending {
  resolve(stream: Duplex): void;
  reject(err: P2prcError): void;
  /** The request asked to upgrade on the path: a close from here on is ws refusing the handshake (it answered). */
  upgrading: boolean;
}

/**
 * Server-side WebSocket upgrades on one path, for connections someone else accepted (frpc's
 * `protocol = websocket`, whose first byte the host has already peeked at). Node's HTTP parser reads
 * the request head; ws answers the handshake and carries the frames. The result is a byte stream: each
 * write leaves as one binary frame; data frames of either kind are read as bytes (frpc sends "text"
 * frames of binary bytes, so their UTF-8 is not checked); pings are answered; a close frame ends it.
 */
export class WebSocketAcceptor {
  // Node 20 answers a request without Host by itself and never tells us: a bare "GET / HTTP/1.1" would
  // then hang here until the handshake deadline instead of being refused as a foreign protocol.
  private readonly http = http.createServer({ maxHeaderSize: MAX_HEAD, requireHostHeader: false });
  private wss: WebSocketServer | undefined;
  private readonly pending = new Map<Duplex, Pending>();

  constructor(readonly path: string) {
    this.http.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      this.onUpgrade(req, socket, head).catch((err: unknown) =>
        this.pending.get(socket)?.reject(toP2prcError(err, 'E_INTERNAL')),
      );
    });
    this.http.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.onRequest(req, res));
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(err, socket));
  }

  /**
   * Reads the HTTP request on `socket` and completes the upgrade. A request for another path is no
   * protocol of this port: E_PROTOCOL and no answer (the caller closes, as frps does). A request on the
   * path that is no valid upgrade gets an HTTP error status, then E_PROTOCOL; a head over MAX_HEAD is
   * E_TOO_LARGE; none within `timeoutMs` is E_TIMEOUT. On any rejection the caller destroys the socket.
   */
  accept(socket: Duplex, timeoutMs: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        socket.off('close', onClose);
        this.pending.delete(socket);
      };
      const pending: Pending = {
        resolve: (stream) => (settle(), resolve(stream)),
        reject: (err) => (settle(), reject(err)),
        upgrading: false,
      };
      const onClose = () =>
        pending.reject(
          pending.upgrading
            ? new P2prcError('E_PROTOCOL', `WebSocket handshake on ${this.path} refused (a bad upgrade request)`)
            : new P2prcError('E_CLOSED', 'closed during the HTTP request head'),
        );
      const timer = setTimeout(
        () => pending.reject(new P2prcError('E_TIMEOUT', `no WebSocket upgrade within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.pending.set(socket, pending);
      socket.once('close', onClose);
      // Documented for http.Server: a connection injected so; what was peeked and put back is read first.
      this.http.emit('connection', socket);
      socket.resume();
    });
  }

  private async onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (!this.pending.has(socket)) return void socket.destroy();
    if (!this.onPath(req)) return this.pending.get(socket)!.reject(foreignRequest(req));
    const { WebSocketServer, createWebSocketStream } = await loadWs();
    // Settled meanwhile (timed out, closed): the caller has destroyed the socket.
    const pending = this.pending.get(socket);
    if (!pending) return;
    this.wss ??= new WebSocketServer({
      noServer: true,
      maxPayload: MAX_WS_PAYLOAD,
      skipUTF8Validation: true,
      perMessageDeflate: false,
      clientTracking: false,
    });
    pending.upgrading = true;
    this.wss.handleUpgrade(req, socket, head, (ws) =>
      pending.resolve(createWebSocketStream(ws, { allowHalfOpen: false })),
    );
  }

  /** A request without an upgrade: on the path it is answered 400 first. */
  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const pending = this.pending.get(req.socket);
    if (!pending) return void req.socket.destroy();
    if (!this.onPath(req)) return pending.reject(foreignRequest(req));
    const refused = new P2prcError('E_PROTOCOL', `not a WebSocket upgrade (${req.method} ${this.path})`);
    res.writeHead(400, { Connection: 'close', 'Content-Length': 0 });
    res.end(() => pending.reject(refused));
  }

  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    const pending = this.pending.get(socket);
    socket.destroy();
    if (!pending) return;
    if (err.code === 'HPE_HEADER_OVERFLOW')
      return pending.reject(new P2prcError('E_TOO_LARGE', `HTTP request head exceeds ${MAX_HEAD} bytes`));
    if (err.code?.startsWith('HPE_'))
      return pending.reject(new P2prcError('E_PROTOCOL', `malformed HTTP request (${err.code})`, { cause: err }));
    pending.reject(new P2prcError('E_CLOSED', `connection failed during the HTTP request head: ${err.message}`));
  }

  private onPath(req: http.IncomingMessage): boolean {
    return req.method === 'GET' && (req.url ?? '').split('?')[0] === this.path;
  }
}

function foreignRequest(req: http.IncomingMessage): P2prcError {
  return new P2prcError(
    'E_PROTOCOL',
    `unrecognized protocol (an HTTP request for ${req.method} ${(req.url ?? '').slice(0, 100)})`,
  );
}
