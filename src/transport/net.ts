import { formatAddress } from '../protocol/address.js';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { constants as cryptoConstants } from 'node:crypto';
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
  /** A byte sent in clear before the TLS ClientHello (frp's 0x17, which every frps with TLS accepts). */
  headByte?: number | undefined;
}

export interface Dialed {
  socket: net.Socket;
  fingerprint: string | undefined;
  tlsSocket: tls.TLSSocket | undefined;
  /** The latest session ticket the server sent on this connection, to resume TLS on the next one. */
  ticket(): Buffer | undefined;
}

const NO_TICKET = (): undefined => undefined;

const AES_128_GCM = 'TLS_AES_128_GCM_SHA256';

/**
 * Node's cipher list (as the operator set it: `--tls-cipher-list`, tls.DEFAULT_CIPHERS) with
 * TLS_AES_128_GCM_SHA256 moved first when it is in it: the order Go's crypto/tls (so frp) uses on machines
 * with AES instructions. 10 AES rounds instead of 14 give about 1.2x the bytes per CPU second of
 * AES-256-GCM (`openssl speed`, 16 KB records) on a path where AES-GCM is a fifth of each process's CPU.
 */
export function tlsCiphers(): string {
  const suites = tls.DEFAULT_CIPHERS.split(':');
  return suites.includes(AES_128_GCM)
    ? [AES_128_GCM, ...suites.filter((s) => s !== AES_128_GCM)].join(':')
    : tls.DEFAULT_CIPHERS;
}

/**
 * The host's TLS context. It picks the suite by its own order, since p2prc clients before that order
 * listed AES-256-GCM first, except for a client that lists ChaCha20 first: Go does so on machines
 * without AES instructions (small routers, older ARM boards running frpc), where AES is slow.
 */
export function serverTlsContext(keyPem: string | undefined, certPem: string | undefined): tls.SecureContext {
  return tls.createSecureContext({
    key: keyPem,
    cert: certPem,
    ciphers: tlsCiphers(),
    honorCipherOrder: true,
    secureOptions: cryptoConstants.SSL_OP_PRIORITIZE_CHACHA,
  });
}

let clientContext: tls.SecureContext | undefined;

/** One client TLS context for every dial: building one per connection cost about 0.5 ms of CPU each. */
function clientTlsContext(): tls.SecureContext {
  return (clientContext ??= tls.createSecureContext({ ciphers: tlsCiphers() }));
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'EADDRNOTAVAIL',
]);

export function mapSocketError(err: NodeJS.ErrnoException, what: string): P2prcError {
  if (err instanceof P2prcError) return err;
  // An AbortSignal's reason: a DOMException whose `code` is a number, so it must not reach the string checks.
  if (err?.name === 'TimeoutError') return new P2prcError('E_TIMEOUT', `${what} timed out`, { cause: err });
  if (err?.name === 'AbortError')
    return new P2prcError('E_CLOSED', `connecting to ${what} was cancelled`, { cause: err });
  if (typeof err?.code !== 'string')
    return new P2prcError('E_UNREACHABLE', `${what}: ${String(err?.message ?? err)}`, { cause: err });
  if (UNREACHABLE.has(err.code))
    return new P2prcError('E_UNREACHABLE', `${what} is unreachable (${err.code})`, { cause: err });
  if (err.code === 'ETIMEDOUT') return new P2prcError('E_TIMEOUT', `${what} timed out`, { cause: err });
  if (err.code.startsWith('ERR_SSL') || err.code.startsWith('ERR_TLS'))
    return new P2prcError('E_TLS', `TLS with ${what} failed: ${err.message}`, { cause: err });
  return new P2prcError('E_UNREACHABLE', `${what}: ${err.message}`, { cause: err });
}

/**
 * RFC 9266 tls-exporter channel binding of a TLS connection (hex), or '' for plaintext. Both ends
 * of one TLS session compute the same value; each leg of a relaying man-in-the-middle differs.
 */
export function channelBinding(socket: net.Socket): string {
  if (!(socket instanceof tls.TLSSocket)) return '';
  return socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0)).toString('hex');
}

/** Tunes a relay socket: no Nagle delay on small writes, keepalive so dead peers surface eventually. */
export function tuneSocket(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 30_000);
}

/**
 * The server side of TLS over an accepted socket (whose first bytes may have been peeked and put back),
 * or over a stream carried inside one (frpc's TLS inside its WebSocket), which has no socket options.
 */
export function wrapServerTls(socket: Duplex, context: tls.SecureContext): tls.TLSSocket {
  const wrapped = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
  if (socket instanceof net.Socket) tuneSocket(socket);
  return wrapped;
}

/** Resolves on `event`, rejects on 'error', timeout or abort; plain listeners, since this runs per data connection. */
function awaitEvent(
  socket: net.Socket,
  event: string,
  timeoutMs: number,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      socket.off(event, onEvent);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const onEvent = () => (cleanup(), resolve());
    const onError = (err: Error) => (cleanup(), reject(err));
    const onAbort = () => (cleanup(), reject(signal!.reason));
    const timer = setTimeout(
      () => (cleanup(), reject(new P2prcError('E_TIMEOUT', `connecting to ${what} timed out after ${timeoutMs} ms`))),
      timeoutMs,
    );
    socket.once(event, onEvent);
    socket.once('error', onError);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** TCP (and optionally TLS with fingerprint pinning) connect, bounded by a timeout and an AbortSignal. */
export async function dial(options: DialOptions): Promise<Dialed> {
  const what = formatAddress(options.host, options.port);
  let socket: net.Socket | undefined;
  try {
    if (!options.tls) {
      socket = net.connect({ host: options.host, port: options.port, allowHalfOpen: true });
      await awaitEvent(socket, 'connect', options.timeoutMs, what, options.signal);
      tuneSocket(socket);
      return { socket, fingerprint: undefined, tlsSocket: undefined, ticket: NO_TICKET };
    }
    let under: net.Socket | undefined;
    if (options.headByte !== undefined) {
      under = socket = net.connect({ host: options.host, port: options.port, allowHalfOpen: true });
      await awaitEvent(under, 'connect', options.timeoutMs, what, options.signal);
      under.write(Buffer.of(options.headByte));
    }
    const connectOptions: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
      ...(under ? { socket: under } : { host: options.host, port: options.port }),
      // Self-signed host certificates are verified by fingerprint below, not by a CA chain.
      rejectUnauthorized: false,
      secureContext: clientTlsContext(),
      session: options.session,
      // Honoured by tls.connect at run time but missing from @types/node's ConnectionOptions.
      allowHalfOpen: true,
      servername: net.isIP(options.host) ? undefined : options.host,
    };
    const tlsSocket = tls.connect(connectOptions);
    socket = tlsSocket;
    // TLS 1.3 tickets come after the handshake, possibly in the read that completes it: listen from the start.
    let latest: Buffer | undefined;
    tlsSocket.on('session', (t: Buffer) => (latest = t));
    const ticket = () => latest;
    await awaitEvent(tlsSocket, 'secureConnect', options.timeoutMs, what, options.signal);
    const pinned = options.fingerprint !== undefined ? normalizeFingerprint(options.fingerprint) : undefined;
    // An unparsable stored pin is a mismatch, never "no pin".
    if (pinned === null)
      throw new P2prcError(
        'E_TLS',
        `the pinned fingerprint for ${what} is not a SHA-256 fingerprint; refusing to connect`,
      );
    // A resumed session proves the server holds the ticket key of a session whose certificate we
    // already checked; resumption may not carry the certificate again.
    if (tlsSocket.isSessionReused() && pinned) {
      tuneSocket(tlsSocket);
      return { socket: tlsSocket, fingerprint: pinned, tlsSocket, ticket };
    }
    const raw = tlsSocket.getPeerX509Certificate()?.raw;
    const actual = raw ? fingerprintOf(raw) : undefined;
    if (!actual || (pinned && pinned !== actual)) {
      throw new P2prcError(
        'E_TLS',
        `certificate of ${what} does not match the pinned fingerprint (expected ${pinned}, got ${actual ?? 'none'})`,
        {
          details: { expected: pinned, actual },
        },
      );
    }
    tuneSocket(tlsSocket);
    return { socket: tlsSocket, fingerprint: actual, tlsSocket, ticket };
  } catch (err) {
    socket?.destroy();
    throw mapSocketError(err as NodeJS.ErrnoException, what);
  }
}

/** What a listening port is for: its name in messages ("control port") and the flag that sets it. */
export interface PortRole {
  name: string;
  flag?: string;
}

/**
 * Binds a TCP server, awaiting 'listening'; EADDRINUSE becomes E_PORT_TAKEN. With a `role` the message
 * says which of the process's ports it is and how to choose another: "control port 7000 on 0.0.0.0 is
 * already in use (--control-port)".
 */
export async function listenTcp(server: net.Server, port: number, host: string, role?: PortRole): Promise<number> {
  const onError = once(server, 'error');
  server.listen({ port, host, exclusive: true });
  const result = await Promise.race([
    once(server, 'listening').then(() => undefined),
    onError.then(([e]) => e as NodeJS.ErrnoException),
  ]);
  if (result) {
    const what = `${role?.name ?? 'port'} ${port} on ${host}`;
    const flag = role?.flag ? ` (${role.flag})` : '';
    if (result.code === 'EADDRINUSE')
      throw new P2prcError('E_PORT_TAKEN', `${what} is already in use${flag}`, {
        cause: result,
        details: { port },
      });
    if (result.code === 'EACCES')
      throw new P2prcError('E_PORT_DENIED', `no permission to bind ${what}${flag}`, {
        cause: result,
        details: { port },
      });
    throw new P2prcError('E_INTERNAL', `cannot listen on ${what}${flag}: ${result.message}`, { cause: result });
  }
  return (server.address() as net.AddressInfo).port;
}
