import { P2prcError } from '../errors.js';
import { encodePreamble } from '../protocol/frame.js';
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
 * A TLS handshake that failed because the server does not speak TLS says nothing useful by itself
 * ("wrong version number"). One plaintext look, bounded, tells what is there: another protocol
 * (E_PROTOCOL naming it), a plaintext p2prc host (E_TLS saying --no-tls), or nothing more than before.
 */
export async function explainTlsFailure(
  err: P2prcError,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<P2prcError> {
  const code = (err.cause as NodeJS.ErrnoException | undefined)?.code;
  if (err.code !== 'E_TLS' || !code || !NOT_TLS.has(code)) return err;
  const what = formatAddress(host, port);
  let head: Buffer;
  try {
    head = await firstBytes(host, port, Math.min(timeoutMs, 3_000));
  } catch (e) {
    debugFailure(`plaintext look at ${what} after a failed TLS handshake`, e, 'E_PROTOCOL');
    return err;
  }
  const foreign = foreignProtocol(head);
  if (foreign) return notP2prcHost(what, foreign);
  if (head.length > 0 && head[0] === 0)
    return new P2prcError('E_TLS', `${what} answers without TLS: it is a plaintext host, connect with --no-tls`, {
      cause: err,
    });
  return err;
}

/**
 * After the handshake failed: a foreign protocol seen in the first bytes is named with the address
 * the user gave; a plaintext connection the server just closed is checked for a TLS server behind it.
 */
export async function explainHandshakeFailure(
  err: P2prcError,
  o: { host: string; port: number; tls: boolean; connectTimeoutMs: number },
): Promise<P2prcError> {
  const what = formatAddress(o.host, o.port);
  const foreign = err.details.foreign;
  if (typeof foreign === 'string') return notP2prcHost(what, foreign);
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

/** Sends our preamble in plaintext and resolves with what the server sends first (empty when it says nothing in time). */
async function firstBytes(host: string, port: number, timeoutMs: number): Promise<Buffer> {
  const { socket } = await dial({ host, port, tls: false, timeoutMs });
  try {
    return await new Promise<Buffer>((resolve) => {
      let head = Buffer.alloc(0);
      const done = () => (clearTimeout(timer), resolve(head));
      const timer = setTimeout(done, timeoutMs);
      socket.on('data', (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        if (head.length >= 8) done();
      });
      socket.on('end', done);
      socket.on('error', done);
      socket.write(encodePreamble());
    });
  } finally {
    socket.destroy();
  }
}
