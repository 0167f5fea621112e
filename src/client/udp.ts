import dgram from 'node:dgram';
import type { LocalTarget } from './pool.js';
import { debugFailure } from '../log/debug.js';
import { evictOne } from '../protocol/evict.js';

type Sender = (tunnelId: string, visitorId: number, data: Buffer) => void;

interface Session {
  socket: dgram.Socket;
  lastSeen: number;
  /** Used since eviction last passed it over (protocol/evict.ts). */
  used: boolean;
  /** Datagrams that arrived before the local socket finished connecting. */
  pending: Buffer[] | undefined;
}

/**
 * The client's half of UDP tunnels: one local UDP socket per remote visitor, so the local service
 * sees distinct peers and its replies go back to the right visitor. Idle sessions are closed, and
 * at most `maxSessions` are open (each is a descriptor): the host names a new visitor for every
 * source, spoofed ones included, so past the cap a session not used lately is closed (second chance).
 */
export class UdpRelay {
  private readonly sessions = new Map<string, Session>();
  private sender: Sender | undefined;
  private readonly sweeper: NodeJS.Timeout;
  dropped = 0;
  /** Sessions closed to make room for a new visitor. */
  evicted = 0;

  constructor(
    private readonly target: (tunnelId: string) => LocalTarget | undefined,
    private readonly idleMs = 60_000,
    private readonly maxSessions = 4096,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.max(1_000, Math.min(idleMs, 30_000)));
    this.sweeper.unref();
  }

  /** Where replies go; replaced on every reconnect, undefined while disconnected. */
  setSender(sender: Sender | undefined): void {
    this.sender = sender;
  }

  fromHost(tunnelId: string, visitorId: number, data: Buffer): void {
    const key = `${tunnelId}|${visitorId}`;
    let s = this.sessions.get(key);
    if (!s) {
      const t = this.target(tunnelId);
      if (!t) {
        this.dropped++;
        return;
      }
      if (this.sessions.size >= this.maxSessions) this.evictOldest();
      const socket = dgram.createSocket(t.host.includes(':') ? 'udp6' : 'udp4');
      // Local service down: ICMP errors just drop datagrams, as UDP would without the tunnel.
      socket.on('error', (err) =>
        debugFailure(`udp tunnel ${tunnelId}: local ${t.host}:${t.port}`, err, 'E_UNREACHABLE'),
      );
      socket.on('message', (reply) => {
        const live = this.sessions.get(key);
        if (live) live.lastSeen = Date.now();
        if (this.sender) this.sender(tunnelId, visitorId, reply);
        else this.dropped++;
      });
      const session: Session = { socket, lastSeen: Date.now(), used: false, pending: [] };
      socket.connect(t.port, t.host, () => {
        if (this.sessions.get(key) !== session) return; // evicted (closed) while connecting
        for (const d of session.pending ?? []) socket.send(d);
        session.pending = undefined;
      });
      s = session;
      this.sessions.set(key, s);
    } else s.used = true;
    s.lastSeen = Date.now();
    if (!s.pending) s.socket.send(data);
    else if (s.pending.length < 256) s.pending.push(data);
    else this.dropped++;
  }

  private evictOldest(): void {
    const victim = evictOne(this.sessions);
    if (!victim) return;
    victim[1].socket.close();
    this.evicted++;
  }

  private sweep(): void {
    const cutoff = Date.now() - this.idleMs;
    for (const [key, s] of this.sessions) {
      if (s.lastSeen >= cutoff) continue;
      s.socket.close();
      this.sessions.delete(key);
    }
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const s of this.sessions.values()) s.socket.close();
    this.sessions.clear();
  }
}
