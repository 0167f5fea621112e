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

/**
 * Direct-path signalling over one control session. A visitor's offer waits here for the owner's
 * answer (or a coded refusal) under a fresh id, bounded in time; an owner's incoming offers go to
 * `onOffer`. What the bodies mean (and whether they are authentic) is for src/direct to judge.
 */
export class DirectSignals {
  private readonly waiters = new Map<string, Waiter>();
  onOffer: ((offer: DirectSignal) => void) | undefined;

  constructor(private readonly send: Send) {}

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
