import type net from 'node:net';
import type tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { P2prcError, toP2prcError, type ErrorCode } from '../../errors.js';
import type { LogFn } from '../../log/logger.js';
import { YamuxSession } from '../../mux/session.js';
import { tuneSocket, wrapServerTls } from '../../transport/net.js';
import { DEFAULT_PAIRING_LIMITS, type PairingLimits } from '../../transport/pairing-pool.js';
import { peekByte, readExact } from '../../transport/read.js';
import { frpKey } from '../codec/crypto.js';
import { FrpMsg, encodeFrpMessage } from '../codec/messages.js';
import { readMessages } from '../codec/read.js';
import { WebSocketAcceptor } from '../../transport/websocket.js';
import { LoginReplayCache, MAX_CLOCK_SKEW_S, loginRefusal, workConnProven } from './auth.js';
import { FrpControl } from './control.js';
import { FrpGroups } from './groups.js';
import type { FrpHttpsVhost, FrpPorts, FrpTunnel, FrpVhost } from './ports.js';
import { SecretProxies } from './secrets.js';
import { StreamStarts } from './stream-starts.js';

export interface FrpWireServerOptions<T extends FrpTunnel> {
  token: string;
  maxClients: number;
  heartbeatTimeoutMs: number;
  /** Who binds public ports (the p2prc host, with its policy, quotas and grace). */
  ports: FrpPorts<T>;
  log: LogFn;
  /** For frpc's tls_enable; without it such connections are refused. */
  tls?: tls.SecureContext | undefined;
  handshakeTimeoutMs: number;
  pairing?: PairingLimits;
  /** The owner's HTTP virtual-host port, for http proxies; without it they are refused as frps does. */
  vhost?: FrpVhost | undefined;
  /** The owner's HTTPS virtual-host port, for https proxies; without it they are refused as frps does. */
  httpsVhost?: FrpHttpsVhost | undefined;
  /** Logins, logouts and refusals (with the peer address) for the owner's logs and admin views. */
  events?: FrpWireEvents<T>;
}

export interface FrpWireEvents<T extends FrpTunnel> {
  refused(e: { stage: 'login' | 'tunnel'; code: ErrorCode; remote: string; client?: string; message: string }): void;
  login(control: FrpControl<T>): void;
  logout(control: FrpControl<T>): void;
}

/** frpc's tls_enable sends this byte in clear, then TLS. */
const FRP_TLS_HEAD = 0x17;
/** A yamux header starts with version 0 (tcp_mux on); otherwise a plain frp message type. */
const YAMUX_VERSION = 0x00;
/** "G" of the GET that opens frpc's `protocol = websocket`, on this HTTP path (frp's FrpWebsocketPath). */
const HTTP_GET = 0x47;
export const FRP_WEBSOCKET_PATH = '/~!frp';

/** Where a logical frp connection came from: its yamux session (tcp_mux), TLS or not, the peer's address. */
interface Origin {
  session: YamuxSession | undefined;
  tls: boolean;
  address: string;
  /** "addr:port" as logged and shown in the admin views. */
  remote: string;
}

/** A logged-in frpc, as its work connections are judged. */
interface Login<T extends FrpTunnel> {
  control: FrpControl<T>;
  origin: Origin;
  open: boolean;
  /** The login's timestamp (frpc's clock) and the host's clock then: a work connection's key is checked against both. */
  clientTs: number;
  hostTs: number;
  warned: boolean;
  /** The log has said that this client's plain work connections can be taken by a sniffer. */
  plainWarned?: boolean;
}

/** What a frpc that sends unproven work connections is told to set, in both of frp's config formats. */
const UNPROVEN_HINT =
  'set auth.additionalScopes = ["NewWorkConns"] in frpc.toml (authenticate_new_work_conns = true in frpc.ini), or use TLS or tcp_mux';

/** Whether a Login's frpc version is below major.minor. */
function frpcBefore(body: Record<string, unknown>, major: number, minor: number): boolean {
  const [a = 0, b = 0] = String(body.version ?? '')
    .split('.')
    .map(Number);
  return a < major || (a === major && b < minor);
}

/** Streams a yamux session may open before one of them logged in: frpc opens exactly one, the Login. */
const PRE_AUTH_STREAMS = 2;
const POST_AUTH_STREAMS = 4096;

/**
 * Serves stock frpc clients (frp's v1 wire; tcp_mux on or off; plain or tls_enable) on a connection
 * someone else accepted: the p2prc host's control port. Ports come from `ports`.
 */
export class FrpWireServer<T extends FrpTunnel> {
  private readonly logins = new Map<string, Login<T>>();
  private readonly replays = new LoginReplayCache();
  private readonly key: Buffer;
  private readonly openKey = frpKey('');
  /** Per key, the blocks a control stream may not begin with (see StreamStarts). */
  private readonly starts = new StreamStarts();
  private readonly openStarts = new StreamStarts();
  private readonly sockets = new Set<Duplex>();
  /** The ports of token-less clients are marked so, for the port owner to scope them. */
  private readonly openPorts: FrpPorts<T>;
  private readonly groups: FrpGroups<T>;
  private readonly openGroups: FrpGroups<T>;
  private readonly secrets = new SecretProxies(MAX_CLOCK_SKEW_S);
  private readonly websocket = new WebSocketAcceptor(FRP_WEBSOCKET_PATH);

  constructor(private readonly o: FrpWireServerOptions<T>) {
    this.key = frpKey(o.token);
    this.openPorts = {
      open: (r) => o.ports.open({ ...r, tokenless: true }),
      close: (id, t, keep) => o.ports.close(id, t, keep),
    };
    this.groups = new FrpGroups(o.ports);
    this.openGroups = new FrpGroups(this.openPorts);
  }

  /**
   * Takes a fresh connection whose first byte (left in the stream) is frp's. Resolves once it has
   * authenticated (a Login accepted, or a work connection of a logged-in client proved), so that it
   * stays under the caller's pending cap and deadline until then; rejects (the caller destroys the
   * connection) on any failure, a refused login included. `open` marks the open port, where clients
   * log in with the empty token as P2PRC's embedded frp client does.
   */
  async accept(
    raw: net.Socket,
    firstByte: number,
    open = false,
    remote = `${raw.remoteAddress}:${raw.remotePort}`,
    secured?: tls.TLSSocket,
  ): Promise<void> {
    // `secured`: the host opened TLS on a bare ClientHello and `firstByte` is the first byte inside it.
    let conn: Duplex = secured ?? raw;
    let first = firstByte;
    let tls = secured !== undefined;
    tuneSocket(raw);
    if (first === HTTP_GET) {
      // frpc's protocol = websocket (wss when secured): an upgrade on /~!frp, then what frpc sends over TCP.
      conn = await this.websocket.accept(conn, this.o.handshakeTimeoutMs);
      first = await peekByte(conn, this.o.handshakeTimeoutMs);
    }
    if (first === FRP_TLS_HEAD && !tls) {
      if (!this.o.tls) throw new P2prcError('E_PROTOCOL', 'frp over TLS, but this host has no TLS');
      await readExact(conn, 1, { timeoutMs: this.o.handshakeTimeoutMs, what: 'frp TLS head' });
      conn = wrapServerTls(conn, this.o.tls);
      tls = true;
      first = await peekByte(conn, this.o.handshakeTimeoutMs);
    }
    this.sockets.add(conn);
    conn.once('close', () => this.sockets.delete(conn));
    conn.resume();
    const origin: Origin = { session: undefined, tls, address: raw.remoteAddress ?? '', remote };
    if (first !== YAMUX_VERSION) return this.handle(conn, open, origin);
    const session = (origin.session = new YamuxSession(conn, {
      client: false,
      accept: true,
      keepaliveMs: 30_000,
      maxStreams: PRE_AUTH_STREAMS,
    }));
    return new Promise((resolve, reject) => {
      let authed = false;
      session.once('close', (reason) =>
        reject(reason ?? new P2prcError('E_CLOSED', 'frp session closed before logging in')),
      );
      session.on('stream', (s) => {
        this.handle(s, open, origin).then(
          () => {
            if (authed) return;
            authed = true;
            session.setMaxStreams(POST_AUTH_STREAMS);
            resolve();
          },
          (err: unknown) => {
            const e = toP2prcError(err, 'E_PROTOCOL');
            if (!authed) return void (reject(e), session.close(e));
            this.o.log('debug', `frp stream closed: ${e.code} ${e.message}`);
            s.destroy();
          },
        );
      });
    });
  }

  /** Logged-in frpc clients. */
  clients(): Array<FrpControl<T>> {
    return [...this.logins.values()].map((l) => l.control);
  }

  /** The first message says what a logical connection is: a Login, or a work connection of a logged-in client. */
  private async handle(conn: Duplex, open: boolean, origin: Origin): Promise<void> {
    conn.on('error', () => conn.destroy());
    const { message, rest } = await readMessages(conn, () => true, this.o.handshakeTimeoutMs);
    if (message.type === FrpMsg.Login) return this.login(conn, message.body, rest, open, origin);
    if (message.type === FrpMsg.NewWorkConn) return this.workConn(conn, message.body, rest, open, origin);
    if (message.type === FrpMsg.NewVisitorConn) return this.secrets.accept(conn, message.body, rest);
    throw new P2prcError('E_PROTOCOL', `unexpected first frp message 0x${message.type.toString(16)}`);
  }

  private async workConn(
    conn: Duplex,
    body: Record<string, unknown>,
    rest: Buffer,
    open: boolean,
    origin: Origin,
  ): Promise<void> {
    const runId = String(body.run_id ?? '');
    const login = this.logins.get(runId);
    if (!login || login.open !== open) throw new P2prcError('E_AUTH', 'work connection for an unknown run id');
    if (!this.workConnProven(login, body, origin)) {
      if (!login.warned)
        this.o.log(
          'warn',
          `frp client ${runId}: a work connection proved nothing but the run id (which travels in clear) and was refused; ${UNPROVEN_HINT}`,
        );
      login.warned = true;
      // frpc logs a StartWorkConn's error: its operator learns why no visitor arrives.
      await endFlushed(
        conn,
        encodeFrpMessage(FrpMsg.StartWorkConn, { proxy_name: '', error: `work connection refused: ${UNPROVEN_HINT}` }),
        this.o.handshakeTimeoutMs,
      ).catch(() => undefined);
      throw new P2prcError('E_AUTH', `work connection for ${runId} without a proof`);
    }
    if (!origin.session && !origin.tls && !login.plainWarned) {
      login.plainWarned = true;
      this.o.log(
        'warn',
        `frp client ${runId}: its work connections come in clear without tcp_mux, proven only by md5(token + second): anyone who reads that connection can take its visitors, as with frps; use TLS or tcp_mux`,
      );
    }
    if (rest.length) conn.unshift(rest);
    login.control.addWorkConn(conn);
  }

  /**
   * frps takes a run id alone; a run id is no secret (LoginResp and every NewWorkConn carry it in
   * clear). A login made inside a yamux session gets work connections only as streams of that same
   * session, and one made over TLS only over TLS (where the run id never crossed the wire in clear).
   * A plain login without tcp_mux has only frp's authenticate_new_work_conns key (not on the open
   * port, whose token is empty), which frp itself repeats within a second.
   */
  private workConnProven(login: Login<T>, body: Record<string, unknown>, origin: Origin): boolean {
    if (login.origin.session) return origin.session === login.origin.session;
    if (origin.session) return false;
    if (login.origin.tls) return origin.tls;
    return !login.open && workConnProven(body, this.o.token, login, Date.now() / 1000);
  }

  private async login(
    conn: Duplex,
    body: Record<string, unknown>,
    rest: Buffer,
    open: boolean,
    origin: Origin,
  ): Promise<void> {
    const nowS = Date.now() / 1000;
    let error = loginRefusal(body, open ? '' : this.o.token, nowS);
    // frpc before 0.32 has no authenticate_new_work_conns: on a plain connection without tcp_mux
    // nothing could tell its work connections from a sniffer's, so it is told at once, not left serving nobody.
    if (!error && !open && !origin.session && !origin.tls && frpcBefore(body, 0, 32))
      error = `frpc ${String(body.version)} cannot prove its work connections without tcp_mux or TLS: set tcp_mux = true or tls_enable = true`;
    // Keys are (nearly) one-time, see LoginReplayCache; the open port's key is public (the empty token), so a replay there proves no more than a fresh login.
    const resumes = String(body.run_id ?? '') !== '';
    const replayed =
      !error && !open && !this.replays.use(String(body.privilege_key), Number(body.timestamp), nowS, resumes);
    if (replayed) error = 'authorization failed';
    // A login key proves nothing about which client sends it (a same-second twin, or a key held back
    // on the way, is as good as its owner's), so it replaces a live control only from that control's
    // own address, as frpc's reconnect after a dropped connection comes (at once, as with frps). From
    // elsewhere it is refused, and frpc retries until the host has seen the old control go.
    const asked = String(body.run_id ?? '');
    const live = this.logins.get(asked);
    const replaces = live !== undefined && !live.open && !open && live.origin.address === origin.address;
    if (!error && !open && live && !replaces)
      error = `client ${asked} is still logged in; retry once its old connection is closed`;
    if (!error && this.logins.size >= this.o.maxClients) error = 'host is full';
    if (error) {
      const code = error === 'host is full' ? 'E_QUOTA' : live && !replayed ? 'E_CONFLICT' : 'E_AUTH';
      // The refusal event is the host's: it reports the error this throws, with the peer.
      if (!this.o.events)
        this.o.log(
          'warn',
          `frp login from ${origin.remote} refused: ${error}${replayed ? ' (a replayed login key)' : ''}`,
        );
      await endFlushed(
        conn,
        encodeFrpMessage(FrpMsg.LoginResp, { version: '0.31.2', run_id: '', server_udp_port: 0, error }),
        this.o.handshakeTimeoutMs,
      );
      throw new P2prcError(code, `frp login: ${error}${replayed ? ' (a replayed login key)' : ''}`);
    }
    // A reconnect gets its run id back (its old control replaced, or gone); on the open port, where
    // anyone logs in and a run id is no secret, a login naming a live one gets a fresh id instead.
    const reuse = /^[0-9a-f]{1,64}$/.test(asked) && (!live || replaces);
    const runId = reuse ? asked : randomBytes(8).toString('hex');
    if (replaces) live.control.close();
    conn.write(encodeFrpMessage(FrpMsg.LoginResp, { version: '0.31.2', run_id: runId, server_udp_port: 0, error: '' }));
    const control: FrpControl<T> = new FrpControl(
      runId,
      origin.remote,
      conn,
      rest,
      {
        key: open ? this.openKey : this.key,
        starts: open ? this.openStarts : this.starts,
        ports: open ? this.openPorts : this.o.ports,
        groups: open ? this.openGroups : this.groups,
        secrets: this.secrets,
        vhost: this.o.vhost,
        httpsVhost: this.o.httpsVhost,
        // Under tcp_mux, frpc 0.58+ sends no Ping: the yamux keepalive tells a dead peer, as with frps 0.39+.
        heartbeatTimeoutMs: origin.session ? 0 : this.o.heartbeatTimeoutMs,
        log: this.o.log,
        pairing: this.o.pairing ?? DEFAULT_PAIRING_LIMITS,
        refused: (c, message) =>
          this.o.events?.refused({ stage: 'tunnel', code: c, remote: origin.remote, client: `frpc ${runId}`, message }),
      },
      Number(body.pool_count ?? 1),
      () => {
        this.o.events?.logout(control);
        if (this.logins.get(runId)?.control === control) this.logins.delete(runId);
      },
    );
    this.logins.set(runId, { control, origin, open, clientTs: Number(body.timestamp), hostTs: nowS, warned: false });
    this.o.log(
      'info',
      `frp client ${runId} logged in from ${origin.remote}${open ? ' token-less on the open port' : ''} (frpc ${String(body.version ?? '?')})`,
    );
    this.o.events?.login(control);
  }

  /** Whether a logged-in frpc connects from this address (the host lets its work connections past a crowd of strangers). */
  hasClientAt(address: string): boolean {
    for (const l of this.logins.values()) if (l.origin.address === address) return true;
    return false;
  }

  /** Host shutdown: every frp client and connection goes; their ports are released by the port owner. */
  close(): void {
    for (const l of [...this.logins.values()]) l.control.close();
    for (const s of this.sockets) s.destroy();
  }
}

/** Sends a last message and waits (bounded) until it left, so the caller can destroy the connection without cutting it off. */
function endFlushed(conn: Duplex, data: Buffer, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    conn.end(data, () => (clearTimeout(timer), resolve()));
  });
}
