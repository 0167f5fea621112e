import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import type Native from 'node-datachannel';
import { P2prcError } from '../errors.js';

type Lib = typeof Native;
type PeerConnection = InstanceType<Lib['PeerConnection']>;
let native: Promise<Lib> | undefined;

/**
 * libdatachannel, loaded on the first direct attempt: the native module costs a few hundred ms to
 * load, which commands that never go direct (--view-rpm, a host) should not pay.
 */
function loadNative(): Promise<Lib> {
  native ??= import('node-datachannel').then(({ default: lib }) => {
    // Its own log (candidates, checks, DTLS) with NODE_DEBUG=p2prc-direct: what a failed path needs.
    const log = debuglog('p2prc-direct');
    if (log.enabled) lib.initLogger('Debug', (level, message) => log('%s %s', level, message));
    return lib;
  });
  return native;
}
export type DataChannel = ReturnType<PeerConnection['createDataChannel']>;

export interface PeerOptions {
  /** `stun:host:port` URLs: the host's binding responder gives each side its NAT-mapped address. */
  stunServers: string[];
  /** Gather candidates on this address only (tests on loopback); default: every interface. */
  bindAddress?: string | undefined;
  /** How long candidate gathering may take before the description goes out with what it has. */
  gatherMs?: number;
  /** Keep-alive period on the control channel; three missed periods declare the path dead. */
  keepaliveMs?: number;
}

/** The selected remote candidate: where the peer's packets come from (its NAT's mapped address). */
export interface PeerAddress {
  address: string;
  port: number;
}

const CONTROL_LABEL = 'p2prc-ctl';
let peerNames = 0;

/**
 * One direct peer connection (ICE + DTLS + SCTP through libdatachannel) and its keep-alive channel.
 * It owns the native PeerConnection and every DataChannel opened on it: a channel object must stay
 * referenced from JavaScript while open (the binding drops callbacks of collected ones), and all of
 * them are closed with the link. `dead` fires once, when the path fails or stops answering.
 */
export class PeerLink extends EventEmitter<{ channel: [DataChannel]; dead: [P2prcError] }> {
  private readonly pc: PeerConnection;
  private readonly channels = new Set<DataChannel>();
  private control: DataChannel | undefined;
  private readonly opened: Promise<void>;
  private markOpen!: () => void;
  /** Our description exists (so does the ICE transport a remote description needs). */
  private readonly described: Promise<void>;
  private readonly gathered: Promise<void>;
  private lastHeard = Date.now();
  private keepalive: NodeJS.Timeout | undefined;
  private isClosed = false;
  private iceUp = false;
  private isOpen = false;
  readonly keepaliveMs: number;

  /** A new peer connection; the offerer opens the control channel. */
  static async create(o: PeerOptions, offerer: boolean): Promise<PeerLink> {
    return new PeerLink(await loadNative(), o, offerer);
  }

  private constructor(
    ndc: Lib,
    private readonly o: PeerOptions,
    offerer: boolean,
  ) {
    super();
    this.keepaliveMs = o.keepaliveMs ?? 2_000;
    this.pc = new ndc.PeerConnection(`p2prc-${++peerNames}`, {
      iceServers: o.stunServers,
      maxMessageSize: 256 * 1024,
      ...(o.bindAddress ? { bindAddress: o.bindAddress } : {}),
    });
    this.opened = new Promise((resolve) => (this.markOpen = resolve));
    // Registered before anything can trigger them: a busy machine takes a while to make the DTLS certificate.
    this.described = new Promise((resolve) => this.pc.onLocalDescription(() => resolve()));
    this.gathered = new Promise((resolve) => this.pc.onGatheringStateChange((s) => s === 'complete' && resolve()));
    // Registered before onStateChange: each callback has its own thread-safe function, and libuv runs
    // pending ones in the order they were made, so ICE's "connected" is seen before a "failed" after it.
    this.pc.onIceStateChange((state) => {
      if (state === 'connected' || state === 'completed') this.iceUp = true;
    });
    this.pc.onStateChange((state) => {
      if (state === 'failed' || state === 'closed') this.fail(this.failure(state));
    });
    this.pc.onDataChannel((dc) => {
      if (dc.getLabel() === CONTROL_LABEL && !this.control) this.adoptControl(dc);
      else if (this.isClosed) dc.close();
      else this.emit('channel', this.track(dc));
    });
    // The offerer opens the control channel: its m=application line is what the offer negotiates.
    if (offerer) {
      const dc = this.pc.createDataChannel(CONTROL_LABEL);
      dc.onOpen(() => this.adoptControl(dc));
    }
  }

  /**
   * Our description once it exists (within `timeoutMs`) and gathering completed, or gathering's own
   * time ran out: then what was found goes out (host candidates at least).
   */
  async localDescription(timeoutMs = 10_000): Promise<string> {
    await bounded(
      this.described,
      timeoutMs,
      () => new P2prcError('E_TIMEOUT', `no local description within ${timeoutMs} ms`),
    );
    await bounded(this.gathered, this.o.gatherMs ?? 2_000, () => undefined).catch(() => undefined);
    const d = this.pc.localDescription();
    if (!d) throw new P2prcError('E_INTERNAL', 'no local description was produced');
    return d.sdp;
  }

  setRemote(sdp: string, type: 'offer' | 'answer'): void {
    try {
      this.pc.setRemoteDescription(sdp, type);
    } catch (err) {
      // The race described at failure(), caught while the answer's candidates were still being added:
      // DTLS failed and the connection closed under them ("remote candidate without ICE transport").
      throw new P2prcError('E_PROTOCOL', `the peer's description was refused: ${(err as Error).message}`, {
        cause: err,
        details: { retryable: true },
      });
    }
  }

  /** Resolves with the peer's address once DTLS is up and the control channel is open. */
  async connected(timeoutMs: number): Promise<PeerAddress> {
    let onDead: ((err: P2prcError) => void) | undefined;
    const dead = new Promise<never>((_, reject) => this.once('dead', (onDead = reject)));
    try {
      await bounded(
        Promise.race([this.opened, dead]),
        timeoutMs,
        () => new P2prcError('E_TIMEOUT', `no direct path within ${timeoutMs} ms`),
      );
    } finally {
      this.off('dead', onDead!);
    }
    const pair = this.pc.getSelectedCandidatePair();
    if (!pair) throw new P2prcError('E_UNREACHABLE', 'direct path up without a selected candidate pair');
    return { address: pair.remote.address, port: pair.remote.port };
  }

  /** A new channel for one TCP connection; resolves once it is open. */
  openChannel(label: string, timeoutMs = 5_000): Promise<DataChannel> {
    if (this.isClosed) return Promise.reject(new P2prcError('E_CLOSED', 'direct path closed'));
    const dc = this.track(this.pc.createDataChannel(label));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => (dc.close(), reject(new P2prcError('E_TIMEOUT', `channel not open within ${timeoutMs} ms`))),
        timeoutMs,
      );
      dc.onOpen(() => (clearTimeout(timer), resolve(dc)));
      dc.onClosed(() => (clearTimeout(timer), reject(new P2prcError('E_CLOSED', 'channel closed before it opened'))));
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  private track(dc: DataChannel): DataChannel {
    this.channels.add(dc);
    dc.onClosed(() => this.channels.delete(dc));
    return dc;
  }

  private adoptControl(dc: DataChannel): void {
    this.control = dc;
    dc.onMessage((m) => {
      this.lastHeard = Date.now();
      if (m === 'ping' && dc.isOpen()) dc.sendMessage('pong');
    });
    dc.onClosed(() => this.fail(new P2prcError('E_CLOSED', 'the peer closed the direct path')));
    this.lastHeard = Date.now();
    this.keepalive = setInterval(() => this.beat(), this.keepaliveMs);
    this.keepalive.unref();
    this.isOpen = true;
    this.markOpen();
  }

  private beat(): void {
    if (Date.now() - this.lastHeard > 3 * this.keepaliveMs) {
      this.fail(new P2prcError('E_TIMEOUT', `direct peer silent for ${3 * this.keepaliveMs} ms`));
      return;
    }
    if (this.control?.isOpen()) this.control.sendMessage('ping');
  }

  /**
   * Why the connection ended. One ending is libdatachannel's own race (v0.24.5): on the offerer,
   * setRemoteDescription gives the answer to ICE before it records it. When the answerer's checks came
   * in earlier (it starts as soon as it has the offer), ICE connects at once and DTLS may check the
   * answerer's certificate in that gap, against no remote description: the handshake fails, 1 in
   * 20-50 tries on a loaded machine. The fingerprint came in an authenticated answer, so a DTLS
   * failure after ICE connected is marked `retryable`: a fresh connection gets past it.
   */
  private failure(state: string): P2prcError {
    const raced = state === 'failed' && this.iceUp && !this.isOpen;
    const message = `direct path ${state}${raced ? ' (DTLS failed after ICE connected)' : ''}`;
    return new P2prcError('E_UNREACHABLE', message, raced ? { details: { retryable: true } } : {});
  }

  private fail(err: P2prcError): void {
    if (this.isClosed) return;
    this.close();
    this.emit('dead', err);
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearInterval(this.keepalive);
    for (const dc of [...this.channels, ...(this.control ? [this.control] : [])]) dc.close();
    this.channels.clear();
    this.pc.close();
  }
}

/** `p`, or `onTimeout()` as a rejection once `ms` passed (undefined: a plain rejection, for "stop waiting"). */
function bounded<T>(p: Promise<T>, ms: number, onTimeout: () => P2prcError | undefined): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
