import type { Duplex } from 'node:stream';
import { dial } from '../../transport/net.js';
import { YamuxSession } from '../../mux/session.js';

/** How logical frp connections reach frps: one TCP connection each, or streams of one yamux session. */
export interface FrpDialer {
  open(): Promise<Duplex>;
  close(): void;
  readonly closed: Promise<void>;
}

/** frp's custom TLS head byte: frps of every version with TLS takes TLS after it (0.50+ also without it). */
export const FRP_TLS_HEAD = 0x17;

export interface FrpTransport {
  tcpMux: boolean;
  /** TLS, frps's certificate unchecked as frpc does by default. */
  tls: boolean;
  /** Send frp's 0x17 head byte before TLS (default): frps before 0.38 takes TLS only after it. */
  tlsHeadByte?: boolean;
}

export async function frpDialer(
  host: string,
  port: number,
  { tcpMux, tls, tlsHeadByte = true }: FrpTransport,
  timeoutMs = 10_000,
): Promise<FrpDialer> {
  const headByte = tls && tlsHeadByte ? FRP_TLS_HEAD : undefined;
  const connect = async () => (await dial({ host, port, tls, headByte, timeoutMs })).socket;
  if (!tcpMux) {
    const sockets = new Set<Duplex>();
    let resolveClosed!: () => void;
    const closed = new Promise<void>((r) => (resolveClosed = r));
    return {
      async open() {
        const socket = await connect();
        handleErrors(socket);
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        return socket;
      },
      close() {
        for (const s of sockets) s.destroy();
        resolveClosed();
      },
      closed,
    };
  }
  const socket = await connect();
  // frpc is always the yamux client; Go keeps the session alive with pings (20 s in 0.31.2).
  const session = new YamuxSession(socket, { client: true, keepaliveMs: 20_000, accept: false });
  const closed = new Promise<void>((r) => session.once('close', () => r()));
  return {
    open: async () => handleErrors(session.openStream()),
    close: () => session.close(),
    closed,
  };
}

/**
 * Every logical connection handed out has an error listener from birth: a peer's reset (a yamux RST,
 * a TCP reset) arrives as an 'error' at any moment, and an unhandled one would end the process. The
 * stream is destroyed either way; its users see that as 'close'.
 */
function handleErrors<S extends Duplex>(stream: S): S {
  stream.on('error', () => stream.destroy());
  return stream;
}
