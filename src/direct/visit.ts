import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { P2prcError, toP2prcError } from '../errors.js';
import { connectDirect } from './negotiate.js';
import type { PeerLink } from './peer.js';
import { backoffDelay } from '../protocol/backoff.js';
import { formatAddress } from '../protocol/address.js';
import type { SignallingSession } from './owner.js';
import type { SignallingKey } from '../protocol/direct.js';

export type DirectMode = 'auto' | 'only' | 'off';

export type PathState = { kind: 'direct'; peer: string } | { kind: 'relayed'; reason: string };

export interface DirectVisitOptions {
  serviceId: string;
  /** A fresh signalling key from a CPace exchange with the owner, for each attempt (protocol/direct.ts). */
  keying: () => Promise<SignallingKey>;
  /** The host's address as dialed: its STUN responder listens there. */
  host: string;
  bindAddress?: string | undefined;
  /** How long one attempt may take before the relay is used instead. Default 5 s. */
  timeoutMs?: number;
}

const RETRY = { initialMs: 1_000, maxMs: 30_000, factor: 2 };

/**
 * A visitor's direct path to one service: established through the host's signalling, then kept
 * without it. When the path dies (keep-alives unanswered, ICE failed) the state turns `relayed` and
 * a bounded-backoff loop tries to re-establish it; the owner of this object decides how new
 * connections travel meanwhile.
 */
export class DirectVisit extends EventEmitter<{ path: [PathState] }> {
  private link: PeerLink | undefined;
  private state: PathState = { kind: 'relayed', reason: 'not yet tried' };
  private readonly stop = new AbortController();
  private retrying = false;

  constructor(
    private readonly o: DirectVisitOptions,
    private readonly session: () => Promise<SignallingSession>,
  ) {
    super();
  }

  get path(): PathState {
    return this.state;
  }

  /** The live peer link, if the path is direct right now. */
  get peer(): PeerLink | undefined {
    return this.link && !this.link.closed ? this.link : undefined;
  }

  /** One attempt, bounded by the timeout; never throws: a failure is a `relayed` state with its reason. */
  async establish(): Promise<PathState> {
    try {
      const session = await this.session();
      if (!session.stunPort) throw new P2prcError('E_NOT_AVAILABLE', 'the host runs no STUN responder');
      const peer = {
        stunServers: [`stun:${formatAddress(this.o.host, session.stunPort)}`],
        bindAddress: this.o.bindAddress,
      };
      const svc = { serviceId: this.o.serviceId, signalling: () => this.o.keying() };
      const path = await connectDirect(
        svc,
        peer,
        (offer, ms) => session.direct.offer(this.o.serviceId, offer, ms),
        this.o.timeoutMs ?? 5_000,
      );
      if (this.stop.signal.aborted) {
        path.link.close();
        return this.state;
      }
      this.link = path.link;
      path.link.once('dead', (err) => this.lost(`direct path lost: ${err.message}`));
      this.set({ kind: 'direct', peer: formatAddress(path.peer.address, path.peer.port) });
    } catch (err) {
      const e = toP2prcError(err);
      this.set({ kind: 'relayed', reason: `${e.code}: ${e.message}` });
    }
    return this.state;
  }

  /** Announces changes of kind only: a retry that fails again is not news. */
  private set(state: PathState): void {
    const changed = state.kind !== this.state.kind;
    this.state = state;
    if (changed) this.emit('path', state);
  }

  private lost(reason: string): void {
    this.link = undefined;
    if (this.stop.signal.aborted) return;
    this.set({ kind: 'relayed', reason });
    void this.retry();
  }

  /** Re-establishes a lost path in the background, with capped, jittered backoff. */
  private async retry(): Promise<void> {
    if (this.retrying) return;
    this.retrying = true;
    try {
      for (let attempt = 1; !this.stop.signal.aborted; attempt++) {
        await delay(backoffDelay(attempt, RETRY), undefined, { signal: this.stop.signal }).catch(() => undefined);
        if (this.stop.signal.aborted) return;
        if ((await this.establish()).kind === 'direct') return;
      }
    } finally {
      this.retrying = false;
    }
  }

  close(): void {
    this.stop.abort();
    this.link?.close();
    this.link = undefined;
  }
}
