import dgram from 'node:dgram';
import { once } from 'node:events';
import { P2prcError } from '../errors.js';
import { debugFailure } from '../log/debug.js';

/**
 * The node's UDP server (P2PRC's UDPServerPort): echoes each datagram to its sender, which is
 * what peers use to measure reachability and latency over UDP.
 */
export class NodeUdpServer {
  private readonly socket = dgram.createSocket('udp4');
  port = 0;

  constructor() {
    this.socket.on('message', (msg, rinfo) => this.socket.send(msg, rinfo.port, rinfo.address));
    // A send to a peer that went away must not kill the server; bind errors are awaited in listen().
    this.socket.on('error', (err) => debugFailure('node UDP server socket error', err, 'E_CLOSED'));
  }

  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    this.socket.bind({ port, address: host, exclusive: true });
    const [err] = await Promise.race([
      once(this.socket, 'listening').then(() => [undefined]),
      once(this.socket, 'error'),
    ]);
    if (err) {
      throw new P2prcError('E_PORT_TAKEN', `node UDP port ${port} on ${host} is already in use (--udp-port)`, {
        details: { side: 'local', port },
        cause: err,
      });
    }
    this.port = this.socket.address().port;
    return this.port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
