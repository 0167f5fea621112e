import net from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import { P2prcError, toP2prcError } from '../errors.js';
import { CfbDecrypt, CfbEncrypt } from '../frpwire/crypto.js';
import { FrpMessageDecoder, FrpMsg, encodeFrpMessage, type FrpMessage } from '../frpwire/messages.js';
import { relay } from '../transport/relay.js';
import { SnappyFrameDecoder, SnappyFrameEncoder } from '../frpwire/snappy.js';
import { UdpTunnel } from './udp-tunnel.js';
import type { HostedTunnel, VisitorSink } from './tunnel.js';

/** What a stock frpc's control session needs from the host: port policy, quotas, grace, logging. */
export interface FrpHostContext {
  key: Buffer;
  /** Binds (or takes back from grace) a public port for this run id; throws coded errors. */
  openTunnel(runId: string, name: string, remotePort: number, sink: VisitorSink, held: number, udp: boolean): Promise<HostedTunnel>;
  closeTunnel(runId: string, tunnel: HostedTunnel, keepForGrace: boolean): void;
  log(level: 'info' | 'warn' | 'debug', message: string): void;
  heartbeatTimeoutMs: number;
}

const VISITOR_WAIT_MS = 10_000;

/**
 * One stock frpc logged in to the p2prc host (frp's v1 wire): the encrypted control stream,
 * NewProxy → a public port under the host's policy, and work connections pooled and bound to
 * visitors with StartWorkConn, then relayed raw.
 */
export class FrpControl implements VisitorSink {
  private readonly enc: CfbEncrypt;
  private readonly tunnels = new Map<string, HostedTunnel>();
  private readonly options = new Map<string, { encrypt: boolean; compress: boolean }>();
  private readonly udp = new Map<string, { tunnel: UdpTunnel; work: Duplex | undefined }>();
  private readonly pool: Duplex[] = [];
  private readonly waiting: Array<{ tunnel: HostedTunnel; visitor: net.Socket; timer: NodeJS.Timeout }> = [];
  private lastSeen = Date.now();
  private readonly watchdog: NodeJS.Timeout;
  private closed = false;

  constructor(readonly runId: string, private readonly conn: Duplex, rest: Buffer, private readonly ctx: FrpHostContext, poolCount: number, onClose: () => void) {
    this.enc = new CfbEncrypt(ctx.key);
    this.enc.pipe(conn);
    const dec = new CfbDecrypt(ctx.key);
    const decoder = new FrpMessageDecoder();
    dec.on('data', (chunk: Buffer) => {
      try {
        for (const m of decoder.push(chunk)) this.onMessage(m);
      } catch (err) {
        this.ctx.log('warn', `frp client ${runId}: ${toP2prcError(err).message}; closing`);
        this.close();
      }
    });
    pipeline(conn, dec, () => this.close());
    if (rest.length) dec.write(rest);
    conn.once('close', () => this.close());
    this.watchdog = setInterval(() => Date.now() - this.lastSeen > ctx.heartbeatTimeoutMs && this.close(), Math.min(ctx.heartbeatTimeoutMs, 10_000));
    this.watchdog.unref();
    this.onClose = onClose;
    for (let i = 0; i < Math.min(Math.max(poolCount, 1), 5); i++) this.send(FrpMsg.ReqWorkConn, {});
  }

  private readonly onClose: () => void;

  private send(type: number, body: object): void {
    if (!this.closed) this.enc.write(encodeFrpMessage(type, body));
  }

  private onMessage(m: FrpMessage): void {
    this.lastSeen = Date.now();
    if (m.type === FrpMsg.Ping) this.send(FrpMsg.Pong, {});
    else if (m.type === FrpMsg.NewProxy) void this.newProxy(m.body);
    else if (m.type === FrpMsg.CloseProxy) {
      const t = this.tunnels.get(String(m.body.proxy_name ?? ''));
      if (t) {
        this.tunnels.delete(t.name);
        this.udp.get(t.name)?.work?.destroy();
        this.udp.delete(t.name);
        this.ctx.closeTunnel(this.runId, t, false);
      }
    }
  }

  private async newProxy(body: Record<string, unknown>): Promise<void> {
    const name = String(body.proxy_name ?? '');
    const type = String(body.proxy_type || 'tcp');
    const remotePort = Number(body.remote_port ?? 0);
    try {
      if (type !== 'tcp' && type !== 'udp') throw new P2prcError('E_NOT_AVAILABLE', `proxy type ${type} is not supported by this host`);
      if (type === 'udp' && (body.use_encryption || body.use_compression)) throw new P2prcError('E_NOT_AVAILABLE', 'udp proxies with use_encryption/use_compression are not supported by this host');
      if (this.tunnels.has(name)) throw new P2prcError('E_CONFLICT', `proxy [${name}] is already registered`);
      const tunnel = await this.ctx.openTunnel(this.runId, name, remotePort, this, this.tunnels.size, type === 'udp');
      this.tunnels.set(name, tunnel);
      this.options.set(name, { encrypt: body.use_encryption === true, compress: body.use_compression === true });
      this.send(FrpMsg.NewProxyResp, { proxy_name: name, remote_addr: `:${tunnel.port}`, error: '' });
      if (tunnel instanceof UdpTunnel) {
        this.udp.set(name, { tunnel, work: undefined });
        this.send(FrpMsg.ReqWorkConn, {});
      }
      this.ctx.log('info', `frp client ${this.runId}: proxy [${name}] on port ${tunnel.port}`);
    } catch (err) {
      const e = toP2prcError(err);
      // frp's own wording where frpc (and its users' scripts) expect it.
      const text = e.code === 'E_PORT_TAKEN' ? 'port unavailable' : e.code === 'E_PORT_DENIED' ? 'port not allowed' : e.message;
      this.send(FrpMsg.NewProxyResp, { proxy_name: name, remote_addr: '', error: text });
    }
  }

  addWorkConn(work: Duplex): void {
    if (this.closed) return void work.destroy();
    // A UDP proxy without its dedicated work connection takes this one first, as frps does.
    const udp = [...this.udp.entries()].find(([, u]) => !u.work);
    if (udp) return this.startUdp(udp[0], udp[1], work);
    const w = this.waiting.shift();
    if (w) {
      clearTimeout(w.timer);
      this.bind(w.tunnel, w.visitor, work);
      return;
    }
    this.pool.push(work);
    work.once('close', () => {
      const i = this.pool.indexOf(work);
      if (i >= 0) this.pool.splice(i, 1);
    });
    work.on('error', () => work.destroy());
  }

  acceptVisitor(tunnel: { tunnelId: string; port: number }, visitor: net.Socket): void {
    const t = [...this.tunnels.values()].find((x) => x.tunnelId === tunnel.tunnelId);
    if (!t) return void visitor.destroy();
    const work = this.pool.shift();
    this.send(FrpMsg.ReqWorkConn, {}); // keep the pool topped up, as frps does
    if (work) return this.bind(t, visitor, work);
    visitor.on('error', () => visitor.destroy());
    const timer = setTimeout(() => {
      const i = this.waiting.findIndex((x) => x.visitor === visitor);
      if (i >= 0) this.waiting.splice(i, 1);
      visitor.destroy();
    }, VISITOR_WAIT_MS);
    this.waiting.push({ tunnel: t, visitor, timer });
  }

  private bind(tunnel: HostedTunnel, visitor: net.Socket, work: Duplex): void {
    work.removeAllListeners('close');
    work.write(encodeFrpMessage(FrpMsg.StartWorkConn, {
      proxy_name: tunnel.name, src_addr: visitor.remoteAddress ?? '', src_port: visitor.remotePort ?? 0, dst_addr: visitor.localAddress ?? '', dst_port: tunnel.port, error: '',
    }));
    const o = this.options.get(tunnel.name);
    if (!o?.encrypt && !o?.compress) return relay(visitor, work);
    // frp layers a proxy's work connection as: bytes → snappy → AES-128-CFB → wire, and the reverse.
    const done = (err?: Error | null) => err && (visitor.destroy(), work.destroy());
    const inbound: NodeJS.ReadWriteStream[] = [...(o.encrypt ? [new CfbDecrypt(this.ctx.key)] : []), ...(o.compress ? [new SnappyFrameDecoder()] : [])];
    const outbound: NodeJS.ReadWriteStream[] = [...(o.compress ? [new SnappyFrameEncoder()] : []), ...(o.encrypt ? [new CfbEncrypt(this.ctx.key)] : [])];
    pipeline([work, ...inbound, visitor], done);
    pipeline([visitor, ...outbound, work], done);
  }

  /** The datagram channel of a UDP proxy: UDPPacket messages both ways on one work connection. */
  private startUdp(name: string, u: { tunnel: UdpTunnel; work: Duplex | undefined }, work: Duplex): void {
    u.work = work;
    work.write(encodeFrpMessage(FrpMsg.StartWorkConn, { proxy_name: name, src_addr: '', dst_addr: '', src_port: 0, dst_port: 0, error: '' }));
    const decoder = new FrpMessageDecoder();
    work.on('data', (chunk: Buffer) => {
      try {
        for (const m of decoder.push(chunk)) {
          if (m.type !== FrpMsg.UDPPacket) continue; // frpc's Pings on this connection need no answer
          const r = m.body.r as { IP?: string; Port?: number } | null;
          const id = r?.IP && r.Port ? u.tunnel.idOf(r.IP, r.Port) : undefined;
          if (id !== undefined) u.tunnel.toVisitor(id, Buffer.from(String(m.body.c ?? ''), 'base64'));
          else u.tunnel.dropped++;
        }
      } catch {
        work.destroy();
      }
    });
    work.on('error', () => work.destroy());
    work.resume(); // paused since its NewWorkConn was read
    work.once('close', () => {
      if (u.work !== work) return;
      u.work = undefined;
      if (!this.closed) this.send(FrpMsg.ReqWorkConn, {});
    });
  }

  sendDatagram(tunnel: { name: string }, _visitorId: number, data: Buffer, from: { address: string; port: number }): boolean {
    const work = this.udp.get(tunnel.name)?.work;
    // frp's v1 messages are capped at 10,240 bytes, so base64 datagrams above ~7.6 KB cannot travel.
    if (!work || work.writableLength > 1024 * 1024 || data.length > 7_600) return false;
    work.write(encodeFrpMessage(FrpMsg.UDPPacket, { c: data.toString('base64'), l: null, r: { IP: from.address, Port: from.port, Zone: '' } }));
    return true;
  }

  close(): void {
    if (this.closed) return;
    for (const u of this.udp.values()) u.work?.destroy();
    this.udp.clear();
    this.closed = true;
    clearInterval(this.watchdog);
    for (const t of this.tunnels.values()) this.ctx.closeTunnel(this.runId, t, true);
    this.tunnels.clear();
    for (const w of this.pool.splice(0)) w.destroy();
    for (const w of this.waiting.splice(0)) (clearTimeout(w.timer), w.visitor.destroy());
    this.conn.destroy();
    this.onClose();
  }
}
