/**
 * Who may start a handshake on the host's front door (pure; the host does the I/O). Modeled on
 * OpenSSH's MaxStartups and PerSourceMaxStartups: strangers are limited per source address, and past
 * `earlyDropStart` pending handshakes a new stranger is dropped with a probability rising linearly to
 * 1 at `maxPending`, so a flood cannot make the door deterministic. Connections from an address where
 * an authenticated client lives (its pooled data connections, its reconnects) have their own budget
 * of the same size and never compete with strangers.
 */
export interface AdmissionLimits {
  maxPending: number;
  perSource: number;
  earlyDropStart: number;
}

export type AdmissionTicket = { trusted: boolean; source: string };

export function defaultAdmissionLimits(maxPending: number, perSource?: number): AdmissionLimits {
  return {
    maxPending,
    perSource: perSource ?? Math.max(16, Math.floor(maxPending / 4)),
    earlyDropStart: Math.max(1, Math.floor(maxPending / 2)),
  };
}

export class Admission {
  private strangers = 0;
  private trusted = 0;
  private readonly bySource = new Map<string, number>();

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * A ticket, or why the connection is dropped. `isTrusted` is asked only under pressure (it walks
   * the live sessions), so the common case costs two map operations.
   */
  admit(source: string, isTrusted: (source: string) => boolean): AdmissionTicket | string {
    const { maxPending, perSource, earlyDropStart } = this.limits;
    const fromSource = this.bySource.get(source) ?? 0;
    const pressed = fromSource >= perSource || this.strangers >= earlyDropStart;
    if (pressed && isTrusted(source)) {
      if (this.trusted >= maxPending) return 'too many handshakes from authenticated clients in progress';
      this.trusted++;
      return { trusted: true, source };
    }
    if (fromSource >= perSource) return `too many handshakes from ${source} in progress`;
    if (this.strangers >= maxPending) return 'too many handshakes in progress';
    if (
      this.strangers >= earlyDropStart &&
      this.random() * (maxPending - earlyDropStart + 1) < this.strangers - earlyDropStart + 1
    ) {
      return 'too many handshakes in progress (random early drop)';
    }
    this.strangers++;
    this.bySource.set(source, fromSource + 1);
    return { trusted: false, source };
  }

  release(ticket: AdmissionTicket): void {
    if (ticket.trusted) {
      this.trusted--;
      return;
    }
    this.strangers--;
    const n = (this.bySource.get(ticket.source) ?? 1) - 1;
    if (n > 0) this.bySource.set(ticket.source, n);
    else this.bySource.delete(ticket.source);
  }

  get pending(): number {
    return this.strangers + this.trusted;
  }
}

/** An Admission as a gate for a listener whose connections are all strangers (the HTTPS vhost's ClientHellos). */
export function strangerGate(limits: AdmissionLimits): (source: string) => (() => void) | string {
  const admission = new Admission(limits);
  return (source) => {
    const ticket = admission.admit(source, () => false);
    return typeof ticket === 'string' ? ticket : () => admission.release(ticket);
  };
}
