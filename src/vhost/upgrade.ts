import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { relay } from '../transport/relay.js';
import { responseHeaders } from './headers.js';

/** What an upgrade is forwarded with: the request line's parts and the headers to send. */
export interface UpgradeRequest {
  method: string;
  path: string;
  headers: string[];
}

/**
 * Forwards an Upgrade (WebSocket) request and relays raw only once the service switched protocols.
 * Until its 101, nothing the visitor sent after the request head reaches the service: bytes sent
 * early would otherwise be read by the service as a next request, one the host never routed or
 * checked (request smuggling), and its answer would go back to the visitor. Any other answer is given
 * to the visitor as it is, and the connection is closed.
 */
export function forwardUpgrade(
  visitor: net.Socket,
  head: Buffer,
  request: UpgradeRequest,
  connect: () => Duplex,
  upgraded: (socket: net.Socket) => void,
  failed: (err: Error) => void,
): void {
  const upstream = http.request({
    createConnection: connect,
    method: request.method,
    path: request.path,
    headers: request.headers,
    setHost: false,
  });
  const gone = (): void => void upstream.destroy();
  visitor.once('close', gone);
  upstream.on('upgrade', (res: http.IncomingMessage, backend: Duplex, rest: Buffer) => {
    visitor.off('close', gone);
    let text = `HTTP/1.1 101 ${res.statusMessage || 'Switching Protocols'}\r\n`;
    for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) text += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`;
    visitor.write(`${text}\r\n`);
    if (rest.length) visitor.write(rest);
    if (head.length) backend.write(head);
    upgraded(visitor);
    relay(visitor, backend);
  });
  upstream.on('response', (res) => {
    // Not switched: this answer, then the end of the connection (the body is delimited by the close).
    let text = `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n`;
    const headers = responseHeaders(res.rawHeaders);
    for (let i = 0; i + 1 < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
    visitor.write(`${text}Connection: close\r\n\r\n`);
    res.pipe(visitor);
    res.on('error', () => visitor.destroy());
  });
  upstream.on('error', (err) => {
    visitor.off('close', gone);
    failed(err);
  });
  upstream.end();
}
