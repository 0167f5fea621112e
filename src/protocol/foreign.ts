import { P2prcError } from '../errors.js';

/**
 * Recognises another protocol in the first bytes a server sent, so a client pointed at the wrong
 * port hears "not a p2prc host (it answered HTTP)" instead of a frame-size or OpenSSL error.
 * Safe on a p2prc stream: a real frame starts with a u32 length under the frame cap, whose first
 * byte is always 0, and none of these signatures starts with 0.
 */
export function foreignProtocol(head: Buffer): string | undefined {
  if (head.length < 2 || head[0] === 0) return undefined;
  const text = head.subarray(0, 8).toString('latin1');
  if (/^HTTP\//.test(text) || (head.length >= 5 && text.startsWith('HTTP'))) return 'HTTP';
  // An HTTP/0.9-style answer (no status line, just the error page) to a request line it could not parse.
  if (/^<(!doctyp|html)/i.test(text)) return 'HTTP';
  if (text.startsWith('SSH-')) return 'SSH';
  // A TLS record: content type 20-23 (change cipher spec, alert, handshake, data), major version 3.
  if (head[0]! >= 0x14 && head[0]! <= 0x17 && head[1] === 0x03) return 'TLS';
  if (/^(220|421|554)[ -]/.test(text)) return 'a greeting (SMTP or FTP)';
  return undefined;
}

/** The error for a server that answered in another protocol; `hint` says what to try. */
export function notP2prcHost(what: string, protocol: string): P2prcError {
  const hint =
    protocol === 'TLS' ? '; if it is a p2prc host with TLS, drop --no-tls' : '; check the address and the control port';
  return new P2prcError('E_PROTOCOL', `${what} is not a p2prc host (it answered ${protocol})${hint}`, {
    details: { foreign: protocol },
  });
}
