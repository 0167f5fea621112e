import type { Duplex } from 'node:stream';
import { debugFailure } from '../../log/debug.js';
import { FrpMessageDecoder, FrpMsg, encodeFrpMessage } from '../codec/messages.js';
import type { FrpTunnel, FrpUdpTunnel } from './ports.js';

export function isUdpTunnel<T extends FrpTunnel>(t: T): t is T & FrpUdpTunnel {
  return t.protocol === 'udp';
}

/** frp's v1 messages are capped at 10,240 bytes, so base64 datagrams above ~7.6 KB cannot travel. */
const MAX_DATAGRAM = 7_600;
const MAX_BACKLOG = 1024 * 1024;

/**
 * The datagram channel of one frp udp proxy: UDPPacket messages both ways on a single work
 * connection. When that connection goes, another is requested (`askForWork`).
 */
export class FrpUdpProxy {
  private work: Duplex | undefined;
  private closed = false;

  constructor(
    private readonly name: string,
    private readonly tunnel: FrpUdpTunnel,
    private readonly askForWork: () => void,
    /** Work connections requested before this proxy's NewProxyResp: none of those is safe to take. */
    readonly requestedBefore = 0,
  ) {}

  get hasWork(): boolean {
    return this.work !== undefined;
  }

  start(work: Duplex): void {
    this.work = work;
    work.write(
      encodeFrpMessage(FrpMsg.StartWorkConn, {
        proxy_name: this.name,
        src_addr: '',
        dst_addr: '',
        src_port: 0,
        dst_port: 0,
        error: '',
      }),
    );
    const decoder = new FrpMessageDecoder();
    work.on('data', (chunk: Buffer) => {
      try {
        for (const m of decoder.push(chunk)) {
          if (m.type !== FrpMsg.UDPPacket) continue; // frpc's Pings on this connection need no answer
          const r = m.body.r as { IP?: string; Port?: number } | null;
          const id = r?.IP && r.Port ? this.tunnel.idOf(r.IP, r.Port) : undefined;
          if (id !== undefined) this.tunnel.toVisitor(id, Buffer.from(String(m.body.c ?? ''), 'base64'));
          else this.tunnel.dropped++;
        }
      } catch (err) {
        debugFailure(`frp-wire udp proxy ${this.name}: closing its work connection`, err, 'E_PROTOCOL');
        work.destroy();
      }
    });
    work.on('error', () => work.destroy());
    work.resume(); // paused since its NewWorkConn was read
    work.once('close', () => {
      if (this.work !== work) return;
      this.work = undefined;
      if (!this.closed) this.askForWork();
    });
  }

  /** A visitor's datagram toward frpc; false (dropped) without a channel, under backlog, or too large. */
  toClient(data: Buffer, from: { address: string; port: number }): boolean {
    const work = this.work;
    if (!work || work.writableLength > MAX_BACKLOG || data.length > MAX_DATAGRAM) return false;
    work.write(
      encodeFrpMessage(FrpMsg.UDPPacket, {
        c: data.toString('base64'),
        l: null,
        r: { IP: from.address, Port: from.port, Zone: '' },
      }),
    );
    return true;
  }

  close(): void {
    this.closed = true;
    this.work?.destroy();
  }
}
