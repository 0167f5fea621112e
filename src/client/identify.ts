import { P2prcError } from '../errors.js';
import { encodePreamble } from '../protocol/frame.js';
import { encodeMessage } from '../protocol/messages.js';
import { foreignProtocol, notP2prcHost } from '../protocol/foreign.js';
import { formatAddress } from '../protocol/address.js';
import { dial } from '../transport/net.js';
import { debugFailure } from '../log/debug.js';

/** OpenSSL's words for "the server did not answer with TLS at all". */
const NOT_TLS = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_UNKNOWN_PROTOCOL',
  'ERR_SSL_HTTP_REQUEST',
]);

/**
 * A TLS handshake that failed because the server does not speak TLS ("wrong version number"), or that
 * got no answer at all from a server that accepted the connection, says nothing useful by itself. One
 * plaintext look, bounded, tells what is there: another protocol (E_PROTOCOL naming it), a plaintext
 * p2prc host (E_TLS saying --no-tls), or no p2prc host at all (E_PROTOCOL). OpenSSL's text never
 * reaches the user for a server that is not TLS.
 */
export async function explainTlsFailure(
  err: P2prcError,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<P2prcError> {
  const code = (err.cause as NodeJS.ErrnoException | undefined)?.code;
  const notTls = err.code === 'E_TLS' && !!code && NOT_TLS.has(code);
  if (!notTls && err.code !== 'E_TIMEOUT') return err;
  const what = formatAddress(host, port);
  const look = await firstBytes(host, port, false, Math.min(timeoutMs, 3_000)).catch((e: unknown) => {
    debugFailure(`plaintext look at ${what} after a failed TLS handshake`, e, 'E_PROTOCOL');
    return undefined;
  });
  // Not even a TCP connection now: the first failure stands (a timeout is retried as unreachable).
  if (!look) return notTls ? notP2prcHost(what, 'neither TLS nor p2prc') : err;
  const { head, silent } = look;
  if (head.length > 0 && head[0] === 0)
    return new P2prcError('E_TLS', `${what} answers without TLS: it is a plaintext host, connect with --no-tls`, {
      cause: err,
    });
  const foreign = foreignProtocol(head);
  if (foreign) return notP2prcHost(what, foreign);
  if (notTls) return notP2prcHost(what, 'neither TLS nor p2prc');
  // A server that holds the connection and stays silent to TLS and to p2prc alike is no p2prc host;
  // one that closed it (a host shedding load, restarting) may be, and is retried.
  return silent ? notP2prcHost(what, `nothing within ${timeoutMs / 1000} s`) : err;
}

/**
 * After the handshake failed: a foreign protocol seen in the first bytes is named with the address
 * the user gave; a plaintext connection the server just closed is checked for a TLS server behind it;
 * a server that sent nothing p2prc-like (`heard` is false: no p2prc message came) is no p2prc host,
 * named by what it answers to a look that also nudges line-based servers (an HTTP server waiting for a
 * request line).
 */
export async function explainHandshakeFailure(
  err: P2prcError,
  o: { host: string; port: number; tls: boolean; connectTimeoutMs: number },
  heard: boolean,
): Promise<P2prcError> {
  const what = formatAddress(o.host, o.port);
  const foreign = err.details.foreign;
  if (typeof foreign === 'string') return notP2prcHost(what, foreign);
  if (!heard && SILENT_OR_GARBLED.has(err.code)) {
    const look = await firstBytes(o.host, o.port, o.tls, Math.min(o.connectTimeoutMs, 3_000)).catch(() => undefined);
    const answer = look && foreignProtocol(look.head);
    if (answer) return notP2prcHost(what, answer);
    const over = o.tls ? 'TLS, then ' : '';
    return notP2prcHost(
      what,
      err.code === 'E_TIMEOUT'
        ? `${over}nothing within ${o.connectTimeoutMs / 1000} s`
        : `${over}bytes that are not p2prc`,
    );
  }
  if (o.tls || err.code !== 'E_CLOSED') return err;
  try {
    const { socket } = await dial({
      host: o.host,
      port: o.port,
      tls: true,
      timeoutMs: Math.min(o.connectTimeoutMs, 3_000),
    });
    socket.destroy();
    return notP2prcHost(what, 'TLS');
  } catch (e) {
    debugFailure(`TLS look at ${what} after a closed plaintext handshake`, e, 'E_PROTOCOL');
    return err;
  }
}

/** Handshake failures that mean the server sent nothing, or bytes that do not decode as p2prc. */
const SILENT_OR_GARBLED: ReadonlySet<string> = new Set(['E_TIMEOUT', 'E_TOO_LARGE', 'E_PROTOCOL']);

/**
 * What a p2prc client says first (preamble and Hello), then a line end: a p2prc host answers the Hello
 * with its Challenge (the two bytes are an incomplete frame length to it), and a server that reads
 * lines (an HTTP server waiting for its request line, SMTP, ...) gets a line to answer.
 */
const LOOK = Buffer.concat([
  encodePreamble(),
  encodeMessage('Hello', { role: 'control', clientId: 'look', name: 'look', agent: 'p2prc' }),
  Buffer.from('\r\n', 'latin1'),
]);

/**
 * Says what a p2prc client says first and resolves with what the server sends back (empty when it says
 * nothing in time; `silent` then tells whether it kept the connection open rather than closing it).
 */
async function firstBytes(
  host: string,
  port: number,
  tls: boolean,
  timeoutMs: number,
): Promise<{ head: Buffer; silent: boolean }> {
  const { socket } = await dial({ host, port, tls, timeoutMs });
  try {
    return await new Promise((resolve) => {
      let head = Buffer.alloc(0);
      const done = (silent: boolean) => (clearTimeout(timer), resolve({ head, silent }));
      const timer = setTimeout(() => done(true), timeoutMs);
      socket.on('data', (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        if (head.length >= 8) done(false);
      });
      socket.on('end', () => done(false));
      socket.on('error', () => done(false));
      socket.write(LOOK);
    });
  } finally {
    socket.destroy();
  }
}
