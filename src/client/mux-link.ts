import { toP2prcError } from '../errors.js';
import { YamuxSession } from '../mux/session.js';
import type { SocketStream } from '../mux/socket-stream.js';
import {
  MUX_CONNECTIONS,
  MUX_MAX_STREAMS,
  MUX_MAX_WINDOW,
  MUX_WINDOW,
  MUX_WINDOW_BUDGET,
  type Messages,
} from '../protocol/messages.js';
import { FrameChannel } from '../transport/channel.js';
import { dial, type DialOptions } from '../transport/net.js';
import { BindReader } from './bind-reader.js';
import { raiseHeapTrimThreshold } from '../transport/heap-trim.js';

export interface MuxLinkDeps {
  sessionId: string;
  dial: Omit<DialOptions, 'signal'>;
  /** A fresh proof for one more data connection of this session (shared seq with raw ones). */
  proof(): { seq: number; mac: string };
  /** A stream the host opened for a visitor, with its Bind read off the front (`rest`: bytes after it). */
  bound(stream: SocketStream, bind: Messages['Bind'], rest: Buffer): void;
  onError(message: string): void;
}

const REOPEN_MS = 1_000;

/**
 * The multiplexed data connections of one session: opened at start, each authenticated like a raw
 * data connection (the proof also covers the mux role), then a yamux session on which the host opens
 * one stream per visitor. A lost connection is reopened after a pause while the session lives.
 */
export class MuxLinks {
  private readonly live = new Set<YamuxSession>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  private readonly binds: BindReader;

  constructor(private readonly d: MuxLinkDeps) {
    this.binds = new BindReader(d.dial.timeoutMs, d.bound);
  }

  start(): void {
    for (let i = 0; i < MUX_CONNECTIONS; i++) void this.open();
  }

  get count(): number {
    return this.live.size;
  }

  private async open(): Promise<void> {
    try {
      const { socket } = await dial(this.d.dial);
      if (this.closed) return void socket.destroy();
      const channel = new FrameChannel(socket);
      channel.sendPreamble();
      const { seq, mac } = this.d.proof();
      channel.send('Hello', { role: 'data', sessionId: this.d.sessionId, seq, mac, mux: true });
      const head = channel.detach();
      if (head.length > 0) socket.unshift(head);
      const mux = new YamuxSession(socket, {
        client: false,
        accept: true,
        acceptSocketStreams: true,
        window: MUX_WINDOW,
        maxWindow: MUX_MAX_WINDOW,
        windowBudget: MUX_WINDOW_BUDGET,
        maxStreams: MUX_MAX_STREAMS,
        onBulk: raiseHeapTrimThreshold,
      });
      socket.resume();
      this.live.add(mux);
      mux.on('socketStream', (s) => this.binds.add(s));
      mux.once('close', (err) => {
        this.live.delete(mux);
        if (!this.closed) this.reopen(err?.message ?? 'closed by the host');
      });
    } catch (err) {
      if (!this.closed) this.reopen(toP2prcError(err).message);
    }
  }

  private reopen(why: string): void {
    this.d.onError(`multiplexed data connection lost (${why}); reopening`);
    const t = setTimeout(() => (this.timers.delete(t), void this.open()), REOPEN_MS);
    t.unref();
    this.timers.add(t);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.binds.close();
    // Streams already relaying die with their connection: the visitors they carry are gone too.
    for (const m of this.live) m.close();
    this.live.clear();
  }
}
