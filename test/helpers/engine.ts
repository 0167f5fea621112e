import net from 'node:net';
import http from 'node:http';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { startHost, connect, type HostHandle, type ReverseProxyClient, type ConnectOptions } from '../../src/index.js';
import type { HostOptions } from '../../src/host/options.js';
import { defer } from './workspace.js';

export { cleanup, defer } from './workspace.js';

export async function host(options: HostOptions = {}): Promise<HostHandle> {
  const h = await startHost({ controlPort: 0, bind: '127.0.0.1', heartbeatMs: 1_000, ...options });
  defer(() => h.close());
  return h;
}

export function client(
  h: HostHandle,
  options: Partial<ConnectOptions> & Pick<ConnectOptions, 'tunnels'>,
): ReverseProxyClient {
  const c = connect({
    host: '127.0.0.1',
    port: h.port,
    token: h.token,
    tls: h.tls,
    fingerprint: h.fingerprint,
    backoff: { initialMs: 50, maxMs: 500 },
    ...options,
  });
  defer(() => c.close());
  return c;
}

export async function listen(server: net.Server, port = 0): Promise<number> {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  defer(() => new Promise((r) => server.close(r)));
  return (server.address() as net.AddressInfo).port;
}

/** An echo server that also tracks its sockets so cleanup can end them. */
export async function echoServer(): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  defer(() => sockets.forEach((s) => s.destroy()));
  return listen(server);
}

export async function httpServer(
  handler: http.RequestListener = (req, res) => res.end(`hello ${req.url}`),
): Promise<number> {
  const server = http.createServer(handler);
  defer(() => server.closeAllConnections());
  return listen(server);
}

/** Connects, writes `payload`, ends, and returns the sha256 and length of everything read back. */
export async function roundTrip(
  port: number,
  payload: Buffer | ((s: net.Socket) => void),
): Promise<{ sha: string; length: number }> {
  const socket = net.connect(port, '127.0.0.1');
  defer(() => socket.destroy());
  await once(socket, 'connect');
  const hash = createHash('sha256');
  let length = 0;
  socket.on('data', (d: Buffer) => {
    hash.update(d);
    length += d.length;
  });
  if (typeof payload === 'function') payload(socket);
  else socket.end(payload);
  await once(socket, 'end');
  return { sha: hash.digest('hex'), length };
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Resolves when the predicate holds, polling events cheaply; rejects after timeoutMs. */
export async function until(
  pred: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Echo check for relays without half-close (frp): writes, reads back exactly as many bytes, then closes. */
export async function echoExact(port: number, payload: Buffer, timeoutMs = 60_000): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  defer(() => socket.destroy());
  await once(socket, 'connect');
  const hash = createHash('sha256');
  let length = 0;
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`echo: ${length} of ${payload.length} bytes after ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('data', (d: Buffer) => {
      hash.update(d);
      length += d.length;
      if (length < payload.length) return;
      clearTimeout(timer);
      resolve();
    });
    socket.once(
      'close',
      () => length < payload.length && (clearTimeout(timer), reject(new Error(`echo closed after ${length} bytes`))),
    );
  });
  socket.write(payload);
  await done;
  socket.destroy();
  return hash.digest('hex');
}

/** A port that was free a moment ago (for configs of programs that cannot take port 0). */
export async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A UDP echo service on 127.0.0.1, closed at cleanup. */
export async function udpEchoServer(): Promise<number> {
  const dgram = await import('node:dgram');
  const echo = dgram.createSocket('udp4');
  echo.on('message', (m, r) => echo.send(m, r.port, r.address));
  echo.bind(0, '127.0.0.1');
  await once(echo, 'listening');
  defer(() => new Promise((r) => echo.close(() => r(undefined))));
  return echo.address().port;
}
