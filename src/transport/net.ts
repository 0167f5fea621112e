import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { P2prcError } from '../errors.js';
import { fingerprintOf, normalizeFingerprint } from './cert.js';

export interface DialOptions {
  host: string;
  port: number;
  tls: boolean;
  /** Pinned certificate fingerprint; a different one is refused with E_TLS. */
  fingerprint?: string | undefined;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** A TLS session from an earlier connection to resume (saves a full handshake per data connection). */
  session?: Buffer | undefined;
}

export interface Dialed {
  socket: net.Socket;
  fingerprint: string | undefined;
  tlsSocket: tls.TLSSocket | undefined;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EADDRNOTAVAIL']);

export function mapSocketError(err: NodeJS.ErrnoException, what: string): P2prcError {
  if (err instanceof P2prcError) return err;
  if (err.code && UNREACHABLE.has(err.code)) return new P2prcError('E_UNREACHABLE', `${what} is unreachable (${err.code})`, { cause: err });
  if (err.code === 'ETIMEDOUT') return new P2prcError('E_TIMEOUT', `${what} timed out`, { cause: err });
  if (err.code?.startsWith('ERR_SSL') || err.code?.startsWith('ERR_TLS')) return new P2prcError('E_TLS', `TLS with ${what} failed: ${err.message}`, { cause: err });
  return new P2prcError('E_UNREACHABLE', `${what}: ${err.message}`, { cause: err });
}

/** Tunes a relay socket: no Nagle delay on small writes, keepalive so dead peers surface eventually. */
export function tuneSocket(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 30_000);
}

/** TCP (and optionally TLS with fingerprint pinning) connect, bounded by a timeout and an AbortSignal. */
export async function dial(options: DialOptions): Promise<Dialed> {
  const what = `${options.host}:${options.port}`;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new P2prcError('E_TIMEOUT', `connecting to ${what} timed out after ${options.timeoutMs} ms`)), options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, ac.signal]) : ac.signal;
  let socket: net.Socket | undefined;
  try {
    if (!options.tls) {
      socket = net.connect({ host: options.host, port: options.port, allowHalfOpen: true });
      await once(socket, 'connect', { signal });
      tuneSocket(socket);
      return { socket, fingerprint: undefined, tlsSocket: undefined };
    }
    // allowHalfOpen is honoured by tls.connect at run time but missing from @types/node's ConnectionOptions.
    const tlsSocket = tls.connect({
      host: options.host,
      port: options.port,
      // Self-signed host certificates are verified by fingerprint below, not by a CA chain.
      rejectUnauthorized: false,
      session: options.session,
      allowHalfOpen: true,
      servername: net.isIP(options.host) ? undefined : options.host,
    } as tls.ConnectionOptions);
    socket = tlsSocket;
    await once(tlsSocket, 'secureConnect', { signal });
    const raw = tlsSocket.getPeerX509Certificate()?.raw;
    const actual = raw ? fingerprintOf(raw) : undefined;
    const pinned = options.fingerprint ? normalizeFingerprint(options.fingerprint) : undefined;
    if (!actual || (pinned && pinned !== actual)) {
      throw new P2prcError('E_TLS', `certificate of ${what} does not match the pinned fingerprint (expected ${pinned}, got ${actual ?? 'none'})`, {
        details: { expected: pinned, actual },
      });
    }
    tuneSocket(tlsSocket);
    return { socket: tlsSocket, fingerprint: actual, tlsSocket };
  } catch (err) {
    socket?.destroy();
    const cause = signal.aborted ? signal.reason : err;
    throw mapSocketError(cause as NodeJS.ErrnoException, what);
  } finally {
    clearTimeout(timer);
  }
}

/** Binds a TCP server, awaiting 'listening'; EADDRINUSE becomes E_PORT_TAKEN. */
export async function listenTcp(server: net.Server, port: number, host: string): Promise<number> {
  const onError = once(server, 'error');
  server.listen({ port, host, exclusive: true });
  const result = await Promise.race([once(server, 'listening').then(() => undefined), onError.then(([e]) => e as NodeJS.ErrnoException)]);
  if (result) {
    if (result.code === 'EADDRINUSE') throw new P2prcError('E_PORT_TAKEN', `port ${port} on ${host} is already in use`, { cause: result, details: { port } });
    if (result.code === 'EACCES') throw new P2prcError('E_PORT_DENIED', `no permission to bind ${host}:${port}`, { cause: result, details: { port } });
    throw new P2prcError('E_INTERNAL', `cannot listen on ${host}:${port}: ${result.message}`, { cause: result });
  }
  return (server.address() as net.AddressInfo).port;
}
