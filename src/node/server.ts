import http from 'node:http';
import { P2prcError } from '../errors.js';
import { listenTcp } from '../transport/net.js';
import type { IpTable, IpTableEntry } from './iptable.js';

export interface NodeServerInfo {
  name: string;
  version: string;
  role: 'node' | 'reverse-proxy';
  publicAddress?: string;
}

/**
 * The P2PRC node server: a small HTTP server answering GET /server_info and GET /ip_table.
 * The entry describing this node is read on every request, so it follows the tunnel's state.
 */
export class NodeServer {
  private readonly server: http.Server;
  port = 0;

  constructor(
    private readonly self: () => IpTableEntry,
    private readonly info: () => NodeServerInfo,
    private readonly peers: () => IpTableEntry[] = () => [],
  ) {
    this.server = http.createServer((req, res) => this.handle(req, res));
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
      this.port = await listenTcp(this.server, port, host);
    } catch (err) {
      if (err instanceof P2prcError && err.code === 'E_PORT_TAKEN') {
        throw new P2prcError('E_PORT_TAKEN', `port ${port} is already in use locally`, { details: { side: 'local', port }, cause: err });
      }
      throw err;
    }
    return this.port;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    if (path === '/ip_table') return send(res, 200, this.table());
    if (path === '/server_info') return send(res, 200, this.info());
    send(res, 404, { error: 'not found', paths: ['/server_info', '/ip_table'] });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
