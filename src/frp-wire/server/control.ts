import type net from 'node:net';
import { pipeline, type Duplex } from 'node:stream';
import { P2prcError, toP2prcError } from '../../errors.js';
import { relay } from '../../transport/relay.js';
import { PairingPool, type PairingLimits, type VisitorSink } from '../../transport/pairing-pool.js';
import { CfbDecrypt, CfbEncrypt } from '../codec/crypto.js';
import { FrpMessageDecoder, FrpMsg, encodeFrpMessage, type FrpMessage } from '../codec/messages.js';
import { SnappyFrameDecoder, SnappyFrameEncoder } from '../codec/snappy.js';
import { FrpUdpProxy, isUdpTunnel } from './udp.js';
import type { FrpPorts, FrpTunnel } from './ports.js';

/** What one frpc's control session needs from the server: keys, the port owner, limits, logging. */
export interface FrpControlContext<T extends FrpTunnel> {
  key: Buffer;
  ports: FrpPorts<T>;
  log(level: 'info' | 'warn' | 'debug', message: string): void;
  heartbeatTimeoutMs: number;
  pairing: PairingLimits;
}

/**
 * One stock frpc logged in (frp's v1 wire): the encrypted control stream, NewProxy → a public port
 * from the port owner, and work connections paired with visitors by StartWorkConn, then relayed raw.
 */
export class FrpControl<T extends FrpTunnel> implements VisitorSink {
  private readonly enc: CfbEncrypt;
  private readonly tunnels = new Map<string, T>();
  private readonly options = new Map<string, { encrypt: boolean; compress: boolean }>();
  private readonly udp = new Map<string, FrpUdpProxy>();
  private readonly pool: PairingPool<T, net.Socket, Duplex>;
  private lastSeen = Date.now();
  private readonly watchdog: NodeJS.Timeout;
  private closed = false;

  constructor(readonly runId: string, private readonly conn: Duplex, rest: Buffer, private readonly ctx: FrpControlContext<T>, poolCount: number, private readonly onClose: () => void) {
    this.pool = new PairingPool(ctx.pairing, { pair: (tunnel, visitor, work) => this.bind(tunnel, visitor, work) });
    this.enc = new CfbEncrypt(ctx.key);
    this.enc.pipe(conn);
    const dec = new CfbDecrypt(ctx.key);
    const decoder = new FrpMessageDecoder();
    dec.on('data', (chunk: Buffer) => {
      try {
        for (const m of decoder.push(chunk)) this.onMessage(m);
      } catch (err) {
        const e = toP2prcError(err, 'E_PROTOCOL');
        this.ctx.log('warn', `frp client ${runId}: ${e.code} ${e.message}; closing`);
        this.close();
      }
    });
    pipeline(conn, dec, () => this.close());
    if (rest.length) dec.write(rest);
    conn.once('close', () => this.close());
    this.watchdog = setInterval(() => Date.now() - this.lastSeen > ctx.heartbeatTimeoutMs && this.close(), Math.min(ctx.heartbeatTimeoutMs, 10_000));
    this.watchdog.unref();
    for (let i = 0; i < Math.min(Math.max(poolCount, 1), 5); i++) this.send(FrpMsg.ReqWorkConn, {});
  }

  private send(type: number, body: object): void {
    if (!this.closed) this.enc.write(encodeFrpMessage(type, body));
  }

  private onMessage(m: FrpMessage): void {
    this.lastSeen = Date.now();
    if (m.type === FrpMsg.Ping) this.send(FrpMsg.Pong, {});
    else if (m.type === FrpMsg.NewProxy) void this.newProxy(m.body);
    else if (m.type === FrpMsg.CloseProxy) {
      const t = this.tunnels.get(String(m.body.proxy_name ?? ''));
      if (!t) return;
      this.tunnels.delete(t.name);
      this.udp.get(t.name)?.close();
      this.udp.delete(t.name);
      this.ctx.ports.close(this.runId, t, false);
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
      const tunnel = await this.ctx.ports.open({ runId: this.runId, name, remotePort, sink: this, held: this.tunnels.size, udp: type === 'udp' });
      this.tunnels.set(name, tunnel);
      this.options.set(name, { encrypt: body.use_encryption === true, compress: body.use_compression === true });
      this.send(FrpMsg.NewProxyResp, { proxy_name: name, remote_addr: `:${tunnel.port}`, error: '' });
      if (isUdpTunnel(tunnel)) {
        this.udp.set(name, new FrpUdpProxy(name, tunnel, () => !this.closed && this.send(FrpMsg.ReqWorkConn, {})));
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
    const udp = [...this.udp.values()].find((u) => !u.hasWork);
    if (udp) return udp.start(work);
    this.pool.addWork(work);
  }

  acceptVisitor(tunnel: { tunnelId: string; port: number }, visitor: net.Socket): void {
    const t = [...this.tunnels.values()].find((x) => x.tunnelId === tunnel.tunnelId);
    if (!t) return void visitor.destroy();
    this.send(FrpMsg.ReqWorkConn, {}); // keep the pool topped up, as frps does
    this.pool.addVisitor(t, visitor);
  }

  private bind(tunnel: T, visitor: net.Socket, work: Duplex): void {
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

  sendDatagram(tunnel: { name: string }, _visitorId: number, data: Buffer, from: { address: string; port: number }): boolean {
    return this.udp.get(tunnel.name)?.toClient(data, from) ?? false;
  }

  close(): void {
    if (this.closed) return;
    for (const u of this.udp.values()) u.close();
    this.udp.clear();
    this.closed = true;
    clearInterval(this.watchdog);
    for (const t of this.tunnels.values()) this.ctx.ports.close(this.runId, t, true);
    this.tunnels.clear();
    this.pool.close();
    this.conn.destroy();
    this.onClose();
  }
}
