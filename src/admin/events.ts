import type { AdminEvent, RefusalReason } from './model.js';

/** Refusals of strangers (before authentication) for one reason: how many, when, the latest one. */
export interface StrangerRefusals {
  reason: RefusalReason;
  count: number;
  first: string;
  last: string;
  peer?: string;
  message: string;
}

export const EVENT_CAPACITY = 1_000;

/**
 * The last N notable events (logins, refusals, tunnels opened and closed) in a fixed ring: memory
 * stays bounded however long the host runs and however hostile its peers are.
 */
export class EventRing {
  private readonly slots: Array<AdminEvent | undefined>;
  private next = 0;
  private seq = 0;
  private readonly strangerTally = new Map<RefusalReason, StrangerRefusals>();

  constructor(readonly capacity = EVENT_CAPACITY) {
    this.slots = new Array<AdminEvent | undefined>(capacity);
  }

  push(event: Omit<AdminEvent, 'seq' | 'time'> & { time?: string }): AdminEvent {
    const full: AdminEvent = { seq: ++this.seq, time: event.time ?? new Date().toISOString(), ...event } as AdminEvent;
    this.slots[this.next] = full;
    this.next = (this.next + 1) % this.capacity;
    return full;
  }

  /**
   * A refusal before authentication: counted per reason, never put in the ring. Anyone can connect, so
   * listed one by one, 1,000 bad logins pushed every real login and tunnel event out of the ring.
   */
  stranger(event: { reason: RefusalReason; peer?: string; message: string; time?: string }): void {
    const time = event.time ?? new Date().toISOString();
    const t = this.strangerTally.get(event.reason) ?? {
      reason: event.reason,
      count: 0,
      first: time,
      last: time,
      message: '',
    };
    t.count++;
    t.last = time;
    t.message = event.message;
    if (event.peer !== undefined) t.peer = event.peer;
    this.strangerTally.set(event.reason, t);
  }

  /** Strangers' refusals per reason, most recent first. */
  strangers(): StrangerRefusals[] {
    return [...this.strangerTally.values()].map((t) => ({ ...t })).sort((a, b) => b.last.localeCompare(a.last));
  }

  /** Oldest first; only events with seq greater than `after` when given. */
  list(after = 0): AdminEvent[] {
    const out: AdminEvent[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const e = this.slots[(this.next + i) % this.capacity];
      if (e && e.seq > after) out.push(e);
    }
    return out;
  }

  get size(): number {
    return Math.min(this.seq, this.capacity);
  }
}
