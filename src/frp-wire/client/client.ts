import net from 'node:net';
import os from 'node:os';
import { once, EventEmitter } from 'node:events';
import { pipeline, type Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { P2prcError, toP2prcError } from '../../errors.js';
import { backoffDelay } from '../../protocol/backoff.js';
import { formatAddress, type PublishedTunnel } from '../../protocol/address.js';
import { relay } from '../../transport/relay.js';
import { mapSocketError } from '../../transport/net.js';
import { debug, debugFailure } from '../../log/debug.js';
import { CfbDecrypt, CfbEncrypt, frpKey } from '../codec/crypto.js';
import { FrpMessageDecoder, FrpMsg, encodeFrpMessage, privilegeKey, type FrpMessage } from '../codec/messages.js';
import { readMessages } from '../codec/read.js';
import { LocalFailureWarnings } from '../../protocol/local-warnings.js';
import { assignedPort, isPortRefusal } from '../../protocol/port-retry.js';
import { runUdpChannel } from './udp-channel.js';
import { frpDialer, type FrpDialer } from '../codec/conn.js';

export interface FrpWireTunnel {
  name: string;
  /** https: routed by server name on frps's vhost_https_port (needs customDomains); remotePort is then only shown. */
  protocol?: 'tcp' | 'udp' | 'https';
  localHost: string;
  localPort: number;
  /** 0: frps picks one (inside its allow_ports) and NewProxyResp's remote_addr says which. */
  remotePort: number;
  /**
   * remotePort is only a wish ("any" with a port held before): when frps refuses it, ask for 0. The
   * port frps assigns is asked for again after a reconnect, with the same fallback.
   */
  anyPort?: boolean;
  customDomains?: string[];
}

export interface FrpWireOptions {
  host: string;
  port: number;
  token: string;
  tcpMux: boolean;
  /** TLS to frps (after frp's 0x17 head byte); frps with `transport.tls.force` takes nothing else. */
  tls: boolean;
  /** false: a bare ClientHello, as frpc 0.50+ sends by default. */
  tlsHeadByte?: boolean;
  tunnels: FrpWireTunnel[];
  poolCount?: number;
  heartbeatMs?: number;
  exitOnLoginFailure?: boolean;
}

/** What the Login says this client is; frps 0.31 to 0.51 only check it is at least 0.18. */
export const FRPC_VERSION = '0.45.0';

/** The local service behind a proxy; a refusal becomes a coded error naming it. */
async function dialLocal(host: string, port: number): Promise<net.Socket> {
  const local = net.connect({ host, port, allowHalfOpen: true });
  try {
    await once(local, 'connect');
    return local;
  } catch (err) {
    local.destroy();
    throw mapSocketError(err as NodeJS.ErrnoException, `local service ${host}:${port}`);
  }
}

function proxyError(name: string, text: string): P2prcError {
  const code = /port not allowed/.test(text)
    ? 'E_PORT_DENIED'
    : /port unavailable|port already used|address already in use|no available port|no free port/.test(text)
      ? 'E_PORT_TAKEN'
      : /exceed|quota/.test(text)
        ? 'E_QUOTA'
        : 'E_PROTOCOL';
  return new P2prcError(code, `frps refused proxy ${name}: ${text}`, { details: { side: 'host', proxy: name } });
}

/**
 * A native client for a stock frps (frp's v1 wire): login with the privilege key, the AES-128-CFB
 * control stream, NewProxy, work connections on request, heartbeats, and reconnects with the same
 * run id and ports. tcp_mux on (yamux) or off, to match the server.
 */
export class FrpWireClient extends EventEmitter<{
  status: [string];
  published: [PublishedTunnel[]];
  reconnecting: [Date];
}> {
  private runId = '';
  private dialer: FrpDialer | undefined;
  private stopped = false;
  private readonly key: Buffer;
  /** The tunnels as published: an "any" port becomes the one frps assigned. */
  private readonly tunnels: FrpWireTunnel[];
  /** Visitors that found no local service: warned at once, then rate-limited per proxy. */
  private readonly localWarnings = new LocalFailureWarnings((m) => this.emit('status', `warning: ${m}`));

  constructor(private readonly o: FrpWireOptions) {
    super();
    this.key = frpKey(o.token);
    this.tunnels = o.tunnels.map((t) => ({ ...t }));
  }

  published(): PublishedTunnel[] {
    return this.tunnels.map((t) => {
      const publicHost = (t.protocol === 'https' && t.customDomains?.[0]) || this.o.host;
      const address = formatAddress(publicHost, t.remotePort);
      return {
        name: t.name,
        protocol: t.protocol ?? 'tcp',
        localHost: t.localHost,
        localPort: t.localPort,
        remotePort: t.remotePort,
        publicHost,
        publicAddress: t.protocol === 'https' ? `https://${address}` : address,
      };
    });
  }

  /** Logs in and registers every proxy; resolves with the public addresses, then keeps them up. */
  async start(): Promise<PublishedTunnel[]> {
    const { lost } = await this.session();
    void this.keepUp(lost);
    return this.published();
  }

  private async keepUp(lost: Promise<void>): Promise<void> {
    await lost;
    // Once per outage, for the mapping records (`reconnecting since`); `published` follows the reconnect.
    if (!this.stopped) this.emit('reconnecting', new Date());
    for (let attempt = 1; !this.stopped; attempt++) {
      const wait = backoffDelay(attempt);
      this.emit(
        'status',
        `status: connection to frps lost; retrying in ${(wait / 1000).toFixed(1)}s (attempt ${attempt})`,
      );
      await delay(wait);
      if (this.stopped) return;
      try {
        const { lost: next } = await this.session();
        this.emit('status', 'status: reconnected to frps; proxies restored');
        this.emit('published', this.published());
        return this.keepUp(next);
      } catch (err) {
        this.emit('status', `status: ${toP2prcError(err).code}: ${toP2prcError(err).message}`);
      }
    }
  }

  /** One login; resolves once all proxies are up, with a promise that settles when the session is lost. */
  private async session(): Promise<{ lost: Promise<void> }> {
    const dialer = await frpDialer(this.o.host, this.o.port, this.o);
    this.dialer = dialer;
    try {
      const control = await dialer.open();
      const timestamp = loginTimestamp();
      control.write(
        encodeFrpMessage(FrpMsg.Login, {
          // The version of the frpc it behaves as: it proves its work connections (frp 0.32+'s
          // authenticate_new_work_conns), so a host may take them on a plain connection.
          version: FRPC_VERSION,
          hostname: '',
          os: os.platform(),
          arch: os.arch() === 'x64' ? 'amd64' : os.arch(),
          user: '',
          privilege_key: privilegeKey(this.o.token, timestamp),
          timestamp,
          run_id: this.runId,
          metas: null,
          pool_count: this.o.poolCount ?? 1,
        }),
      );
      const { message: resp, rest } = await readMessages(control, (m) => m.type === FrpMsg.LoginResp, 10_000);
      const error = String(resp.body.error ?? '');
      if (error)
        throw new P2prcError(
          /authorization|token/.test(error) ? 'E_AUTH' : 'E_PROTOCOL',
          `frps refused the login: ${error}`,
        );
      this.runId = String(resp.body.run_id ?? '');
      return await this.control(control, rest, dialer);
    } catch (err) {
      dialer.close();
      throw toP2prcError(err, 'E_UNREACHABLE');
    }
  }

  private async control(control: Duplex, rest: Buffer, dialer: FrpDialer): Promise<{ lost: Promise<void> }> {
    control.resume();
    const enc = new CfbEncrypt(this.key);
    const dec = new CfbDecrypt(this.key);
    enc.pipe(control);
    const decoder = new FrpMessageDecoder();
    /** Per proxy name, what to do with frps's answer: its error text and remote_addr. */
    const waiting = new Map<string, (error: string, remoteAddr: string) => void>();
    let lastPong = Date.now();
    const heartbeatMs = this.o.heartbeatMs ?? 30_000;
    const lost = new Promise<void>((resolve) => {
      const end = () => (clearInterval(beat), dialer.close(), resolve());
      const beat = setInterval(() => {
        if (Date.now() - lastPong > 3 * heartbeatMs) end();
        else enc.write(encodeFrpMessage(FrpMsg.Ping, {}));
      }, heartbeatMs);
      beat.unref();
      control.once('close', end);
      void dialer.closed.then(end);
    });
    dec.on('data', (chunk: Buffer) => {
      let messages: FrpMessage[];
      try {
        messages = decoder.push(chunk);
      } catch (err) {
        debugFailure('frp-wire control stream from frps undecodable; closing the session', err, 'E_PROTOCOL');
        dialer.close();
        return;
      }
      for (const m of messages) {
        if (m.type === FrpMsg.ReqWorkConn) void this.workConn(dialer);
        else if (m.type === FrpMsg.Pong) lastPong = Date.now();
        else if (m.type === FrpMsg.NewProxyResp) {
          const name = String(m.body.proxy_name ?? '');
          const w = waiting.get(name);
          waiting.delete(name);
          w?.(String(m.body.error ?? ''), String(m.body.remote_addr ?? ''));
        }
      }
    });
    pipeline(control, dec, () => dialer.close());
    if (rest.length) dec.write(rest);
    const closed = lost.then(() => {
      throw new P2prcError('E_CLOSED', 'frps closed the control connection');
    });
    closed.catch(() => undefined); // raced below; a session that ends later is `lost`, not an error
    const ask = (t: FrpWireTunnel) =>
      new Promise<string>((resolve, reject) => {
        waiting.set(t.name, (error, remoteAddr) => (error ? reject(proxyError(t.name, error)) : resolve(remoteAddr)));
        enc.write(
          encodeFrpMessage(FrpMsg.NewProxy, {
            proxy_name: t.name,
            proxy_type: t.protocol ?? 'tcp',
            use_encryption: false,
            use_compression: false,
            remote_port: t.remotePort,
            ...(t.customDomains ? { custom_domains: t.customDomains } : {}),
          }),
        );
      });
    const register = async (t: FrpWireTunnel): Promise<void> => {
      let remoteAddr: string;
      try {
        remoteAddr = await Promise.race([ask(t), closed]);
      } catch (err) {
        if (!t.anyPort || t.remotePort === 0 || !isPortRefusal(err)) throw err;
        this.emit('status', `status: frps refused port ${t.remotePort} for ${t.name}; letting frps choose one`);
        t.remotePort = 0;
        remoteAddr = await Promise.race([ask(t), closed]);
      }
      if (t.protocol === 'https') return;
      const port = assignedPort(remoteAddr);
      if (port === undefined && t.remotePort === 0)
        throw new P2prcError(
          'E_PROTOCOL',
          `frps assigned proxy ${t.name} no port it named (remote_addr "${remoteAddr}")`,
        );
      if (port !== undefined) t.remotePort = port;
    };
    await Promise.all(this.tunnels.map(register));
    return { lost };
  }

  /** frps asked for a work connection: offer one, and relay it raw once frps binds it to a user. */
  private async workConn(dialer: FrpDialer): Promise<void> {
    let work: Duplex | undefined;
    try {
      work = await dialer.open();
      // The key is frp >= 0.32's authenticate_new_work_conns: a p2prc host refuses a bare run id outside tcp_mux; frps 0.31 ignores it.
      const timestamp = Math.floor(Date.now() / 1000);
      work.write(
        encodeFrpMessage(FrpMsg.NewWorkConn, {
          run_id: this.runId,
          privilege_key: privilegeKey(this.o.token, timestamp),
          timestamp,
        }),
      );
      const { message, rest } = await readMessages(work, (m) => m.type === FrpMsg.StartWorkConn, 24 * 3600_000);
      const t = this.tunnels.find((x) => x.name === message.body.proxy_name);
      if (!t)
        throw new P2prcError(
          'E_PROTOCOL',
          `frps started a work connection for unknown proxy ${String(message.body.proxy_name)}`,
        );
      if (t.protocol === 'udp') {
        if (rest.length) work.unshift(rest);
        return runUdpChannel(work, t.localHost, t.localPort);
      }
      const local = await dialLocal(t.localHost, t.localPort).catch((err: unknown) => {
        // The socket's own error ("connect ECONNREFUSED ...") reads best after "unreachable:".
        const cause = (err as Error).cause;
        this.localWarnings.failed(
          t.name,
          formatAddress(t.localHost, t.localPort),
          cause instanceof Error ? cause : (err as Error),
        );
        throw err;
      });
      this.localWarnings.recovered(t.name);
      if (rest.length) local.write(rest);
      relay(work, local);
    } catch (err) {
      const e = toP2prcError(err, 'E_UNREACHABLE');
      debug(e.code, `frp-wire work connection dropped: ${e.message}`);
      work?.destroy();
    }
  }

  close(): Promise<void> {
    this.stopped = true;
    this.dialer?.close();
    return Promise.resolve();
  }
}

let lastLoginTs = 0;

/**
 * A login timestamp never used before by this process, a little in the past at random: a p2prc host
 * takes each (key, timestamp) once, and with one token the key depends on the timestamp alone, so two
 * clients logging in within the same second would otherwise look like a replay. frps checks nothing.
 */
function loginTimestamp(): number {
  const now = Math.floor(Date.now() / 1000) - Math.floor(Math.random() * 30);
  lastLoginTs = Math.max(now, lastLoginTs + 1);
  return lastLoginTs;
}
