import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Duplex } from 'node:stream';
import { YamuxSession } from '../../mux/session.js';
import { dial } from '../../transport/net.js';
import { FrpMsg, encodeFrpMessage } from '../codec/messages.js';
import { readMessages } from '../codec/read.js';
import { FRP_TLS_HEAD, type FrpTransport } from '../codec/conn.js';

/**
 * Positive identification of a stock frps: it answers a Login with a LoginResp. The Login carries a
 * random key, nothing derived from any token, so a port that is not frps (or is a trap) learns
 * nothing. frps with tcp_mux (its default) only speaks yamux, so that is tried first; TLS before
 * plaintext, since a frps with `transport.tls.force` closes plaintext. Says which transport answered.
 */
export async function identifiesAsFrps(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<FrpTransport | undefined> {
  for (const tcpMux of [true, false])
    for (const tls of [true, false])
      if (await answersLogin(host, port, { tcpMux, tls }, timeoutMs)) return { tcpMux, tls };
  return undefined;
}

async function answersLogin(host: string, port: number, t: FrpTransport, timeoutMs: number): Promise<boolean> {
  let session: YamuxSession | undefined;
  let socket: Duplex | undefined;
  try {
    socket = (await dial({ host, port, tls: t.tls, headByte: t.tls ? FRP_TLS_HEAD : undefined, timeoutMs })).socket;
    socket.on('error', () => socket?.destroy());
    let conn: Duplex = socket;
    if (t.tcpMux) {
      session = new YamuxSession(socket, { client: true, accept: false });
      conn = session.openStream();
      conn.on('error', () => conn.destroy());
    }
    conn.write(
      encodeFrpMessage(FrpMsg.Login, {
        version: '0.31.2',
        hostname: '',
        os: os.platform(),
        arch: 'amd64',
        user: '',
        privilege_key: randomBytes(16).toString('hex'),
        timestamp: Math.floor(Date.now() / 1000),
        run_id: '',
        metas: null,
        pool_count: 1,
      }),
    );
    const { message } = await readMessages(conn, () => true, timeoutMs);
    return message.type === FrpMsg.LoginResp;
  } catch {
    return false; // silence, garbage or a close: not a frps
  } finally {
    session?.close();
    socket?.destroy();
  }
}
