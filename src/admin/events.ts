import type { AdminEvent } from './model.js';

export const EVENT_CAPACITY = 1_000;

/**
 * The last N notable events (logins, refusals, tunnels opened and closed) in a fixed ring: memory
 * stays bounded however long the host runs and however hostile its peers are.
 */
export class EventRing {
  private readonly slots: Array<AdminEvent | undefined>;
  private next = 0;
  private seq = 0;

  constructor(readonly capacity = EVENT_CAPACITY) {
    this.slots = new Array<AdminEvent | undefined>(capacity);
  }

  push(event: Omit<AdminEvent, 'seq' | 'time'> & { time?: string }): AdminEvent {
    const full: AdminEvent = { seq: ++this.seq, time: event.time ?? new Date().toISOString(), ...event } as AdminEvent;
    this.slots[this.next] = full;
    this.next = (this.next + 1) % this.capacity;
    return full;
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
