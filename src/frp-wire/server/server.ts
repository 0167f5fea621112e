import type net from 'node:net';
import type tls from 'node:tls';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { P2prcError, toP2prcError, type ErrorCode } from '../../errors.js';
import { YamuxSession } from '../../mux/session.js';
import { tuneSocket, wrapServerTls } from '../../transport/net.js';
import { DEFAULT_PAIRING_LIMITS, type PairingLimits } from '../../transport/pairing-pool.js';
import { peekByte, readExact } from '../../transport/read.js';
import { frpKey } from '../codec/crypto.js';
import { FrpMsg, encodeFrpMessage, privilegeKey } from '../codec/messages.js';
import { readMessages } from '../codec/read.js';
import { acceptWebSocket, readRequestHead } from '../../transport/websocket.js';
import { FrpControl } from './control.js';
import { FrpGroups } from './groups.js';
import type { FrpPorts, FrpTunnel, FrpVhost } from './ports.js';
import { SecretProxies } from './secrets.js';

export interface FrpWireServerOptions<T extends FrpTunnel> {
  token: string;
  maxClients: number;
  heartbeatTimeoutMs: number;
  /** Who binds public ports (the p2prc host, with its policy, quotas and grace). */
  ports: FrpPorts<T>;
  log(level: 'info' | 'warn' | 'debug', message: string): void;
  /** For frpc's tls_enable; without it such connections are refused. */
  tls?: tls.SecureContext | undefined;
  handshakeTimeoutMs: number;
  pairing?: PairingLimits;
  /** The owner's HTTP virtual-host port, for http proxies; without it they are refused as frps does. */
  vhost?: FrpVhost | undefined;
  /** Logins, logouts and refusals (with the peer address) for the owner's logs and admin views. */
  events?: FrpWireEvents<T>;
}

export interface FrpWireEvents<T extends FrpTunnel> {
  refused(e: { stage: 'login' | 'tunnel'; code: ErrorCode; remote: string; client?: string; message: string }): void;
  login(control: FrpControl<T>): void;
  logout(control: FrpControl<T>): void;
}

/** frp checks no freshness at all; p2prc accepts logins within this skew only, so old keys do not replay forever. */
export const MAX_CLOCK_SKEW_S = 15 * 60;

/** frpc's tls_enable sends this byte in clear, then TLS. */
const FRP_TLS_HEAD = 0x17;
/** A yamux header starts with version 0 (tcp_mux on); otherwise a plain frp message type. */
const YAMUX_VERSION = 0x00;
/** "G" of the GET that opens frpc's `protocol = websocket`, on this HTTP path (frp's FrpWebsocketPath). */
const HTTP_GET = 0x47;
export const FRP_WEBSOCKET_PATH = '/~!frp';

/**
 * Serves stock frpc clients (frp's v1 wire; tcp_mux on or off; plain or tls_enable) on a connection
 * someone else accepted: the p2prc host's control port. Ports come from `ports`.
 */
export class FrpWireServer<T extends FrpTunnel> {
  private readonly controls = new Map<string, FrpControl<T>>();
  /** Run ids of clients that logged in token-less on the open port (P2PRC's /FRPPort). */
  private readonly openRuns = new Set<string>();
  private readonly key: Buffer;
  private readonly openKey = frpKey('');
  private readonly sockets = new Set<Duplex>();
  /** The ports of token-less clients are marked so, for the port owner to scope them. */
  private readonly openPorts: FrpPorts<T>;
  private readonly groups: FrpGroups<T>;
  private readonly openGroups: FrpGroups<T>;
  private readonly secrets = new SecretProxies(MAX_CLOCK_SKEW_S);

  constructor(private readonly o: FrpWireServerOptions<T>) {
    this.key = frpKey(o.token);
    this.openPorts = { open: (r) => o.ports.open({ ...r, tokenless: true }), close: (id, t, keep) => o.ports.close(id, t, keep) };
    this.groups = new FrpGroups(o.ports);
    this.openGroups = new FrpGroups(this.openPorts);
  }

  /**
   * Takes a fresh connection whose first byte (left in the stream) is frp's; resolves once it is
   * past the TLS layer and owned here, rejects (the caller closes it) when it is not frp after all.
   * `open` marks the open port, where clients log in with the empty token as P2PRC's embedded frp
   * client does; they get the same policy and quotas, and never a token client's run id or port.
   */
  async accept(raw: net.Socket, firstByte: number, open = false, remote = `${raw.remoteAddress}:${raw.remotePort}`): Promise<void> {
    let conn: net.Socket = raw;
    let first = firstByte;
    tuneSocket(raw);
    if (first === HTTP_GET) {
      // frpc's protocol = websocket: an upgrade on /~!frp, then inside it what frpc sends over TCP.
      const head = await readRequestHead(raw, this.o.handshakeTimeoutMs);
      conn = acceptWebSocket(raw, head, FRP_WEBSOCKET_PATH) as unknown as net.Socket;
      first = await peekByte(conn, this.o.handshakeTimeoutMs);
    }
    if (first === FRP_TLS_HEAD) {
      if (!this.o.tls) throw new P2prcError('E_PROTOCOL', 'frp over TLS, but this host has no TLS');
      await readExact(conn, 1, { timeoutMs: this.o.handshakeTimeoutMs, what: 'frp TLS head' });
      conn = wrapServerTls(conn, this.o.tls);
      first = await peekByte(conn, this.o.handshakeTimeoutMs);
    }
    this.sockets.add(conn);
    conn.once('close', () => this.sockets.delete(conn));
    conn.resume();
    if (first !== YAMUX_VERSION) return void this.handle(conn, open, remote);
    const session = new YamuxSession(conn, { client: false, accept: true, keepaliveMs: 30_000 });
    session.on('stream', (s) => void this.handle(s, open, remote));
  }

  /** Logged-in frpc clients. */
  clients(): Array<FrpControl<T>> {
    return [...this.controls.values()];
  }

  /** The first message says what a logical connection is: a Login, or a work connection of a logged-in client. */
  private async handle(conn: Duplex, open: boolean, remote: string): Promise<void> {
    conn.on('error', () => conn.destroy());
    try {
      const { message, rest } = await readMessages(conn, () => true, 10_000);
      if (message.type === FrpMsg.Login) return this.login(conn, message.body, rest, open, remote);
      if (message.type === FrpMsg.NewWorkConn) {
        const runId = String(message.body.run_id ?? '');
        const control = this.controls.get(runId);
        if (!control || this.openRuns.has(runId) !== open) throw new P2prcError('E_AUTH', 'work connection for an unknown run id');
        if (rest.length) conn.unshift(rest);
        return control.addWorkConn(conn);
      }
      if (message.type === FrpMsg.NewVisitorConn) return this.secrets.accept(conn, message.body, rest);
      throw new P2prcError('E_PROTOCOL', `unexpected first frp message 0x${message.type.toString(16)}`);
    } catch (err) {
      const e = toP2prcError(err, 'E_PROTOCOL');
      this.o.log('debug', `frp connection closed: ${e.code} ${e.message}`);
      conn.destroy();
    }
  }

  private refusal(body: Record<string, unknown>, open: boolean): { error: string; code: ErrorCode } {
    const timestamp = Number(body.timestamp ?? 0);
    const expected = Buffer.from(privilegeKey(open ? '' : this.o.token, timestamp));
    const given = Buffer.from(String(body.privilege_key ?? ''));
    const fresh = Math.abs(Date.now() / 1000 - timestamp) <= MAX_CLOCK_SKEW_S;
    const version = String(body.version ?? '').split('.').map(Number);
    if (!(given.length === expected.length && timingSafeEqual(given, expected)) || !fresh) return { error: 'authorization failed', code: 'E_AUTH' };
    if (version.length < 3 || (version[0]! === 0 && version[1]! < 18)) return { error: 'Please upgrade your frpc version to at least 0.18.0', code: 'E_VERSION' };
    if (this.controls.size >= this.o.maxClients) return { error: 'host is full', code: 'E_QUOTA' };
    return { error: '', code: 'E_AUTH' };
  }

  private login(conn: Duplex, body: Record<string, unknown>, rest: Buffer, open: boolean, remote: string): void {
    const { error, code } = this.refusal(body, open);
    if (error) {
      if (this.o.events) this.o.events.refused({ stage: 'login', code, remote, message: `frp login: ${error}` });
      else this.o.log('warn', `frp login from ${remote} refused: ${error}`);
      conn.end(encodeFrpMessage(FrpMsg.LoginResp, { version: '0.31.2', run_id: '', server_udp_port: 0, error }));
      return;
    }
    // A reconnect replaces the old control, as frps does; but only within its own door (open or token).
    const asked = String(body.run_id ?? '');
    const reuse = /^[0-9a-f]{1,64}$/.test(asked) && (!this.controls.has(asked) || this.openRuns.has(asked) === open);
    const runId = reuse ? asked : randomBytes(8).toString('hex');
    this.controls.get(runId)?.close();
    conn.write(encodeFrpMessage(FrpMsg.LoginResp, { version: '0.31.2', run_id: runId, server_udp_port: 0, error: '' }));
    const control: FrpControl<T> = new FrpControl(runId, remote, conn, rest, {
      key: open ? this.openKey : this.key,
      ports: open ? this.openPorts : this.o.ports,
      groups: open ? this.openGroups : this.groups,
      secrets: this.secrets,
      vhost: this.o.vhost,
      heartbeatTimeoutMs: this.o.heartbeatTimeoutMs,
      log: this.o.log,
      pairing: this.o.pairing ?? DEFAULT_PAIRING_LIMITS,
      refused: (c, message) => this.o.events?.refused({ stage: 'tunnel', code: c, remote, client: `frpc ${runId}`, message }),
    }, Number(body.pool_count ?? 1), () => {
      this.o.events?.logout(control);
      if (this.controls.get(runId) !== control) return;
      this.controls.delete(runId);
      this.openRuns.delete(runId);
    });
    this.controls.set(runId, control);
    if (open) this.openRuns.add(runId);
    else this.openRuns.delete(runId);
    this.o.log('info', `frp client ${runId} logged in from ${remote}${open ? ' token-less on the open port' : ''} (frpc ${String(body.version ?? '?')})`);
    this.o.events?.login(control);
  }

  /** Host shutdown: every frp client and connection goes; their ports are released by the port owner. */
  close(): void {
    for (const c of [...this.controls.values()]) c.close();
    for (const s of this.sockets) s.destroy();
  }
}
