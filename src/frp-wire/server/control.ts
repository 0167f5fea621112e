import { pipeline, type Duplex } from 'node:stream';
import { P2prcError, toP2prcError } from '../../errors.js';
import type { LogFn } from '../../log/logger.js';
import { PairingPool, type PairingLimits, type VisitorSink, type VisitorStream } from '../../transport/pairing-pool.js';
import { CfbDecrypt, CfbEncrypt } from '../codec/crypto.js';
import { FrpMessageDecoder, FrpMsg, encodeFrpMessage, type FrpMessage } from '../codec/messages.js';
import { relayLayered } from './layers.js';
import { openFrpProxy, type FrpProxy, type FrpProxyServices } from './proxies.js';
import { ControlStreamTap, type StreamStarts } from './stream-starts.js';
import { FrpUdpProxy } from './udp.js';
import type { FrpTunnel } from './ports.js';

/** What one frpc's control session needs from the server: keys, the proxies' services, limits, logging. */
export interface FrpControlContext<T extends FrpTunnel> extends FrpProxyServices<T> {
  key: Buffer;
  /** Where this key's control streams may not begin: each session's own fresh bytes, never another's copied. */
  starts: StreamStarts;
  log: LogFn;
  /** Closes a control silent for this long; 0 for none (under tcp_mux, where yamux keepalives tell a dead peer). */
  heartbeatTimeoutMs: number;
  pairing: PairingLimits;
  /** A proxy request turned away (port taken, policy, quota...), for the refusal log and metrics. */
  refused?(code: P2prcError['code'], message: string): void;
}

/**
 * One stock frpc logged in (frp's v1 wire): the encrypted control stream, NewProxy → a public port
 * from the port owner, and work connections paired with visitors by StartWorkConn, then relayed raw.
 */
export class FrpControl<T extends FrpTunnel> implements VisitorSink {
  private readonly enc: CfbEncrypt;
  private readonly proxies = new Map<string, FrpProxy>();
  private readonly udp = new Map<string, FrpUdpProxy>();
  private readonly pool: PairingPool<FrpProxy, VisitorStream, Duplex>;
  private lastSeen = Date.now();
  private readonly watchdog: NodeJS.Timeout | undefined;
  private closed = false;
  readonly since = new Date();
  /** ReqWorkConn sent and NewWorkConn received so far (see addWorkConn). */
  private requested = 0;
  private arrived = 0;

  constructor(
    readonly runId: string,
    readonly remote: string,
    private readonly conn: Duplex,
    rest: Buffer,
    private readonly ctx: FrpControlContext<T>,
    poolCount: number,
    private readonly onClose: () => void,
  ) {
    this.pool = new PairingPool(ctx.pairing, { pair: (tunnel, visitor, work) => this.bind(tunnel, visitor, work) });
    this.enc = new CfbEncrypt(ctx.key);
    this.enc.pipe(conn);
    const tap = new ControlStreamTap(ctx.starts);
    const dec = new CfbDecrypt(ctx.key);
    const decoder = new FrpMessageDecoder();
    dec.on('data', (chunk: Buffer) => {
      try {
        for (const m of decoder.push(chunk)) {
          tap.consumed(m.size ?? 0);
          this.onMessage(m);
        }
      } catch (err) {
        this.closeFor(err);
      }
    });
    pipeline(conn, tap, dec, (err) => (err instanceof P2prcError ? this.closeFor(err) : this.close()));
    if (rest.length) tap.write(rest);
    conn.once('close', () => this.close());
    if (ctx.heartbeatTimeoutMs > 0) {
      this.watchdog = setInterval(() => this.checkHeartbeat(), Math.min(ctx.heartbeatTimeoutMs, 10_000));
      this.watchdog.unref();
    }
    for (let i = 0; i < Math.min(Math.max(poolCount, 1), 5); i++) this.send(FrpMsg.ReqWorkConn, {});
  }

  private closeFor(err: unknown): void {
    if (this.closed) return;
    const e = toP2prcError(err, 'E_PROTOCOL');
    this.ctx.log('warn', `frp client ${this.runId}: ${e.code} ${e.message}; closing`);
    this.close();
  }

  private checkHeartbeat(): void {
    const silentMs = Date.now() - this.lastSeen;
    if (silentMs <= this.ctx.heartbeatTimeoutMs) return;
    this.ctx.log(
      'warn',
      `frp client ${this.runId}: no message for ${Math.round(silentMs / 1000)} s; closing its control`,
    );
    this.close();
  }

  private send(type: number, body: object): void {
    if (this.closed) return;
    if (type === FrpMsg.ReqWorkConn) this.requested++;
    this.enc.write(encodeFrpMessage(type, body));
  }

  private onMessage(m: FrpMessage): void {
    this.lastSeen = Date.now();
    if (m.type === FrpMsg.Ping) this.send(FrpMsg.Pong, {});
    else if (m.type === FrpMsg.NewProxy) void this.newProxy(m.body);
    else if (m.type === FrpMsg.CloseProxy) {
      const p = this.proxies.get(String(m.body.proxy_name ?? ''));
      if (!p) return;
      this.proxies.delete(p.name);
      this.udp.get(p.name)?.close();
      this.udp.delete(p.name);
      p.release(false);
    }
  }

  private async newProxy(body: Record<string, unknown>): Promise<void> {
    const name = String(body.proxy_name ?? '');
    try {
      if (this.proxies.has(name)) throw new P2prcError('E_CONFLICT', `proxy [${name}] is already registered`);
      const held = [...this.proxies.values()].filter((p) => p.holdsPort).length;
      const proxy = await openFrpProxy(this.ctx, this.runId, body, this, held, this.remote);
      if (this.closed) return proxy.release(true);
      this.proxies.set(name, proxy);
      this.send(FrpMsg.NewProxyResp, { proxy_name: name, remote_addr: proxy.remoteAddr, error: '' });
      // frp 0.31.2 carries a udp proxy's UDPPacket messages in clear even with use_encryption or
      // use_compression (frpc does not wrap that work connection), so neither does this server.
      if (proxy.udp) {
        this.udp.set(
          name,
          new FrpUdpProxy(name, proxy.udp, () => !this.closed && this.send(FrpMsg.ReqWorkConn, {}), this.requested),
        );
        this.send(FrpMsg.ReqWorkConn, {});
      }
      this.ctx.log(
        'info',
        `frp client ${this.runId}: ${String(body.proxy_type || 'tcp')} proxy [${name}]${proxy.remoteAddr ? ` on ${proxy.remoteAddr}` : ''}`,
      );
    } catch (err) {
      const e = toP2prcError(err);
      this.ctx.refused?.(e.code, `proxy [${name}]: ${e.message}`);
      // frp's own wording where frpc (and its users' scripts) expect it.
      const text =
        e.code === 'E_PORT_TAKEN' ? 'port unavailable' : e.code === 'E_PORT_DENIED' ? 'port not allowed' : e.message;
      this.send(FrpMsg.NewProxyResp, { proxy_name: name, remote_addr: '', error: text });
    }
  }

  addWorkConn(work: Duplex): void {
    if (this.closed) return void work.destroy();
    this.arrived++;
    // A UDP proxy without its dedicated work connection takes this one first, as frps does, but only
    // once frpc has surely started the proxy: frpc 0.31.2 learns the proxy's local address when it
    // handles NewProxyResp, and a StartWorkConn read before that (on another stream, by another
    // goroutine) leaves its UDP forwarder without an address for good. frpc handles control messages
    // in order, so once more work connections have arrived than were requested before NewProxyResp,
    // it has answered a ReqWorkConn sent after it, and so has handled NewProxyResp.
    const udp = [...this.udp.values()].find((u) => !u.hasWork && this.arrived > u.requestedBefore);
    if (udp) return udp.start(work);
    this.pool.addWork(work);
  }

  acceptVisitor(tunnel: { tunnelId: string; port: number }, visitor: VisitorStream): void {
    const t = [...this.proxies.values()].find((p) => p.tunnelId === tunnel.tunnelId);
    if (!t) return void visitor.destroy();
    this.send(FrpMsg.ReqWorkConn, {}); // keep the pool topped up, as frps does
    this.pool.addVisitor(t, visitor);
  }

  private bind(proxy: FrpProxy, visitor: VisitorStream, work: Duplex): void {
    work.write(
      encodeFrpMessage(FrpMsg.StartWorkConn, {
        proxy_name: proxy.name,
        src_addr: visitor.remoteAddress ?? '',
        src_port: visitor.remotePort ?? 0,
        dst_addr: visitor.localAddress ?? '',
        dst_port: proxy.port,
        error: '',
      }),
    );
    relayLayered(visitor, work, { key: this.ctx.key, encrypt: proxy.encrypt, compress: proxy.compress });
  }

  sendDatagram(
    tunnel: { name: string },
    _visitorId: number,
    data: Buffer,
    from: { address: string; port: number },
  ): boolean {
    return this.udp.get(tunnel.name)?.toClient(data, from) ?? false;
  }

  /** The port owner's tunnels of this frpc's live tcp and udp proxies. */
  liveTunnels(): T[] {
    return [...this.proxies.values()].flatMap((p) => (p.tunnel ? [p.tunnel as T] : []));
  }

  close(): void {
    if (this.closed) return;
    for (const u of this.udp.values()) u.close();
    this.udp.clear();
    this.closed = true;
    clearInterval(this.watchdog);
    for (const p of this.proxies.values()) p.release(true);
    this.proxies.clear();
    this.pool.close();
    this.conn.destroy();
    this.onClose();
  }
}
