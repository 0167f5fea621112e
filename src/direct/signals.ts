import { randomBytes } from 'node:crypto';
import { P2prcError } from '../errors.js';
import type { DirectSignal, Message, Messages } from '../protocol/messages.js';

type SignalMessage = Extract<Message, { type: 'DirectOffer' | 'DirectAnswer' | 'DirectRefused' }>;
type Send = <K extends 'DirectOffer' | 'DirectAnswer' | 'DirectRefused'>(type: K, body: Messages[K]) => void;

interface Waiter {
  resolve: (answer: DirectSignal) => void;
  reject: (err: P2prcError) => void;
  timer: NodeJS.Timeout;
}

const MAX_WAITERS = 256;
/** Signalling keys an owner keeps: each for one offer, within a minute of its handshake. */
const MAX_KEYS = 256;
const KEY_TTL_MS = 60_000;

/**
 * Direct-path signalling over one control session. A visitor's offer waits here for the owner's
 * answer (or a coded refusal) under a fresh id, bounded in time; an owner's incoming offers go to
 * `onOffer`. What the bodies mean (and whether they are authentic) is for src/direct to judge.
 */
export class DirectSignals {
  private readonly waiters = new Map<string, Waiter>();
  private readonly keys = new Map<string, { serviceId: string; key: Buffer; expires: number }>();
  onOffer: ((offer: DirectSignal) => void) | undefined;

  constructor(private readonly send: Send) {}

  /** Owner: a visitor's handshake asked for a signalling key (protocol/direct.ts); its offer follows. */
  rememberKey(serviceId: string, keyId: string, key: Buffer, now = Date.now()): void {
    for (const [id, k] of this.keys) if (k.expires <= now) this.keys.delete(id);
    if (this.keys.size >= MAX_KEYS) this.keys.delete(this.keys.keys().next().value!);
    this.keys.set(keyId, { serviceId, key, expires: now + KEY_TTL_MS });
  }

  /** Owner: the key an offer names, used once; undefined if unknown, expired or for another service. */
  takeKey(serviceId: string, keyId: string | undefined, now = Date.now()): Buffer | undefined {
    const k = keyId === undefined ? undefined : this.keys.get(keyId);
    if (!k) return undefined;
    this.keys.delete(keyId!);
    return k.serviceId === serviceId && k.expires > now ? k.key : undefined;
  }

  offer(
    serviceId: string,
    body: Omit<DirectSignal, 'serviceId' | 'signalId'>,
    timeoutMs: number,
  ): Promise<DirectSignal> {
    if (this.waiters.size >= MAX_WAITERS)
      return Promise.reject(new P2prcError('E_QUOTA', 'too many direct-path offers in flight'));
    const signalId = randomBytes(8).toString('hex');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(signalId);
        reject(new P2prcError('E_TIMEOUT', `no direct-path answer from the owner within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(signalId, { resolve, reject, timer });
      this.send('DirectOffer', { serviceId, signalId, ...body });
    });
  }

  answer(body: DirectSignal): void {
    this.send('DirectAnswer', body);
  }

  refuse(offer: DirectSignal, err: P2prcError): void {
    this.send('DirectRefused', {
      serviceId: offer.serviceId,
      signalId: offer.signalId,
      code: err.code,
      message: err.message,
    });
  }

  receive(m: SignalMessage): void {
    if (m.type === 'DirectOffer') return this.onOffer?.(m.body);
    const w = this.waiters.get(m.body.signalId);
    if (!w) return; // late, or not ours
    this.waiters.delete(m.body.signalId);
    clearTimeout(w.timer);
    if (m.type === 'DirectAnswer') w.resolve(m.body);
    else w.reject(new P2prcError(m.body.code, `direct path refused: ${m.body.message}`));
  }

  close(reason: P2prcError): void {
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(reason);
    }
    this.waiters.clear();
  }
}
