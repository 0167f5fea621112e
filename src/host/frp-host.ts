import net from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { P2prcError, isP2prcError, toP2prcError } from '../errors.js';
import { frpKey } from '../frpwire/crypto.js';
import { FrpMsg, encodeFrpMessage, privilegeKey } from '../frpwire/messages.js';
import { readMessages } from '../frpwire/read.js';
import { YamuxSession } from '../mux/session.js';
import { listenTcp } from '../transport/net.js';
import { FrpControl } from './frp-control.js';
import type { PortPolicy } from './ports.js';
import { PublicTunnel, type HostedTunnel, type VisitorSink } from './tunnel.js';
import { UdpTunnel, bindUdp } from './udp-tunnel.js';

/** The parts of the host that stock frp clients share with p2prc clients. */
export interface FrpHostDeps {
  token: string;
  bind: string;
  policy: PortPolicy;
  maxTunnelsPerClient: number;
  maxClients: number;
  heartbeatTimeoutMs: number;
  takeReserved(owner: string, port: number): HostedTunnel | undefined;
  reserve(owner: string, tunnel: HostedTunnel, label: string): void;
  releaseTunnel(tunnel: HostedTunnel): void;
  log(level: 'info' | 'warn' | 'debug', message: string): void;
  opened(tunnel: HostedTunnel): void;
}

/** frp checks no freshness at all; p2prc accepts logins within this skew only, so old keys do not replay forever. */
export const MAX_CLOCK_SKEW_S = 15 * 60;

/**
 * Serves stock frpc clients on the host's control port (frp v1 wire; tcp_mux on or off). Port policy,
 * quotas and the grace period are the host's own, so frp clients are treated exactly as p2prc ones.
 */
export class FrpHost {
  private readonly controls = new Map<string, FrpControl>();
  private readonly key: Buffer;

  constructor(private readonly d: FrpHostDeps) {
    this.key = frpKey(d.token);
  }

  private readonly sockets = new Set<net.Socket>();

  /** A connection whose first byte said frp: 0x00 starts a yamux session, 'o' a plain Login. */
  accept(socket: net.Socket, firstByte: number): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (firstByte !== 0) return void this.handle(socket);
    const session = new YamuxSession(socket, { client: false, accept: true, keepaliveMs: 30_000 });
    session.on('stream', (s) => void this.handle(s));
  }

  private async handle(conn: Duplex): Promise<void> {
    conn.on('error', () => conn.destroy());
    try {
      const { message, rest } = await readMessages(conn, () => true, 10_000);
      if (message.type === FrpMsg.Login) return this.login(conn, message.body, rest);
      if (message.type === FrpMsg.NewWorkConn) {
        const control = this.controls.get(String(message.body.run_id ?? ''));
        if (!control) throw new P2prcError('E_AUTH', 'work connection for an unknown run id');
        if (rest.length) conn.unshift(rest);
        return control.addWorkConn(conn);
      }
      throw new P2prcError('E_PROTOCOL', `unexpected first frp message 0x${message.type.toString(16)}`);
    } catch (err) {
      this.d.log('debug', `frp connection closed: ${toP2prcError(err).message}`);
      conn.destroy();
    }
  }

  private login(conn: Duplex, body: Record<string, unknown>, rest: Buffer): void {
    const timestamp = Number(body.timestamp ?? 0);
    const expected = Buffer.from(privilegeKey(this.d.token, timestamp));
    const given = Buffer.from(String(body.privilege_key ?? ''));
    const fresh = Math.abs(Date.now() / 1000 - timestamp) <= MAX_CLOCK_SKEW_S;
    const version = String(body.version ?? '').split('.').map(Number);
    let error = '';
    if (!(given.length === expected.length && timingSafeEqual(given, expected)) || !fresh) error = 'authorization failed';
    else if (version.length < 3 || version[0]! === 0 && version[1]! < 18) error = 'Please upgrade your frpc version to at least 0.18.0';
    else if (this.controls.size >= this.d.maxClients) error = 'host is full';
    if (error) {
      this.d.log('warn', `frp login refused: ${error}`);
      conn.end(encodeFrpMessage(FrpMsg.LoginResp, { version: '0.31.2', run_id: '', server_udp_port: 0, error }));
      return;
    }
    const runId = /^[0-9a-f]{1,64}$/.test(String(body.run_id ?? '')) ? String(body.run_id) : randomBytes(8).toString('hex');
    this.controls.get(runId)?.close(); // a reconnect replaces the old control, as frps does
    conn.write(encodeFrpMessage(FrpMsg.LoginResp, { version: '0.31.2', run_id: runId, server_udp_port: 0, error: '' }));
    const control = new FrpControl(runId, conn, rest, {
      key: this.key,
      heartbeatTimeoutMs: this.d.heartbeatTimeoutMs,
      log: this.d.log,
      openTunnel: (id, name, port, sink, held, udp) => this.openTunnel(id, name, port, sink, held, udp),
      closeTunnel: (id, tunnel, keep) => (keep ? this.d.reserve(tunnel.clientId, tunnel, `frp client ${id}`) : this.d.releaseTunnel(tunnel)),
    }, Number(body.pool_count ?? 1), () => this.controls.get(runId) === control && this.controls.delete(runId));
    this.controls.set(runId, control);
    this.d.log('info', `frp client ${runId} logged in (frpc ${String(body.version ?? '?')})`);
  }

  /**
   * Ports are owned per proxy name (frp's unit of identity: names are unique per server), so a
   * restarted frpc, which comes back with a new run id, still gets its port back within the grace.
   */
  /** Host shutdown: every frp client and connection goes; their ports are released by the host. */
  close(): void {
    for (const c of [...this.controls.values()]) c.close();
    for (const s of this.sockets) s.destroy();
  }

  private async openTunnel(runId: string, name: string, remotePort: number, sink: VisitorSink, held: number, udp = false): Promise<HostedTunnel> {
    const owner = `frp:${name}`;
    const reserved = remotePort > 0 ? this.d.takeReserved(owner, remotePort) : undefined;
    if (reserved) {
      reserved.name = name;
      reserved.sink = sink;
      this.d.opened(reserved);
      return reserved;
    }
    if (held >= this.d.maxTunnelsPerClient) throw new P2prcError('E_QUOTA', `more than ${this.d.maxTunnelsPerClient} proxies`);
    const candidates = remotePort > 0 ? [remotePort] : this.d.policy.pickCandidates(20, new Set());
    for (const port of candidates) {
      this.d.policy.take(port, owner);
      if (udp) {
        try {
          const tunnel = new UdpTunnel(`frp:${name}`, port, await bindUdp(port, this.d.bind), owner, name);
          tunnel.sink = sink;
          this.d.opened(tunnel);
          return tunnel;
        } catch (err) {
          this.d.policy.release(port, owner);
          if (remotePort > 0 || !isP2prcError(err, 'E_PORT_TAKEN')) throw err;
          continue;
        }
      }
      const server = net.createServer({ noDelay: true, allowHalfOpen: true });
      try {
        await listenTcp(server, port, this.d.bind);
      } catch (err) {
        this.d.policy.release(port, owner);
        server.close();
        if (remotePort > 0 || !isP2prcError(err, 'E_PORT_TAKEN')) throw err;
        continue;
      }
      const tunnel = new PublicTunnel(`frp:${name}`, port, server, owner, name, 'tcp');
      tunnel.sink = sink;
      this.d.opened(tunnel);
      return tunnel;
    }
    throw new P2prcError('E_PORT_TAKEN', 'no free port in the host policy');
  }
}
