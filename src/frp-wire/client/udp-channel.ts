import dgram from 'node:dgram';
import type { Duplex } from 'node:stream';
import { debugFailure } from '../../log/debug.js';
import { FrpMessageDecoder, FrpMsg, encodeFrpMessage } from '../codec/messages.js';

const IDLE_MS = 30_000;
const PING_MS = 30_000;

/**
 * The client half of an frp udp proxy: frps sends UDPPacket{c, r} on one work connection; each user
 * address r gets its own local UDP socket toward the service, and replies go back tagged with r.
 */
export function runUdpChannel(work: Duplex, localHost: string, localPort: number): void {
  const sessions = new Map<string, { socket: dgram.Socket; lastSeen: number }>();
  const decoder = new FrpMessageDecoder();
  const ping = setInterval(() => work.write(encodeFrpMessage(FrpMsg.Ping, {})), PING_MS);
  const sweep = setInterval(() => {
    for (const [k, s] of sessions) {
      if (Date.now() - s.lastSeen <= IDLE_MS) continue;
      s.socket.close();
      sessions.delete(k);
    }
  }, IDLE_MS / 2);
  ping.unref();
  sweep.unref();
  work.on('data', (chunk: Buffer) => {
    let messages;
    try {
      messages = decoder.push(chunk);
    } catch (err) {
      debugFailure('frp-wire udp work connection undecodable; closing it', err, 'E_PROTOCOL');
      work.destroy();
      return;
    }
    for (const m of messages) {
      if (m.type !== FrpMsg.UDPPacket) continue;
      const r = m.body.r as { IP?: string; Port?: number; Zone?: string } | null;
      if (!r?.IP || !r.Port) continue;
      const key = `${r.IP}|${r.Port}`;
      let s = sessions.get(key);
      if (!s) {
        const socket = dgram.createSocket(localHost.includes(':') ? 'udp6' : 'udp4');
        socket.on('error', () => undefined);
        socket.on('message', (reply) => {
          const live = sessions.get(key);
          if (live) live.lastSeen = Date.now();
          work.write(encodeFrpMessage(FrpMsg.UDPPacket, { c: reply.toString('base64'), l: null, r }));
        });
        s = { socket, lastSeen: Date.now() };
        sessions.set(key, s);
      }
      s.lastSeen = Date.now();
      s.socket.send(Buffer.from(String(m.body.c ?? ''), 'base64'), localPort, localHost);
    }
  });
  work.on('error', () => work.destroy());
  work.once('close', () => {
    clearInterval(ping);
    clearInterval(sweep);
    for (const s of sessions.values()) s.socket.close();
    sessions.clear();
  });
  work.resume();
}
