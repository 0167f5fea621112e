/**
 * Which nodes an exchange round polls (pure; no I/O, no clock: rounds are counted).
 *
 * A peer's IP table is an unauthenticated claim, and polling every address it lists lets one peer
 * aim this node at anyone (amplification). So nodes the operator configured (`--bootstrap`,
 * ip_table.json) and learned nodes that answered with an IP table are polled every round; learned
 * nodes that never answered, or stopped answering, get at most `perRound` polls a round between them,
 * and each waits 2, 4, 8 … up to MAX_BACKOFF_ROUNDS rounds after every failure.
 */
export const UNVERIFIED_PER_ROUND = 8;
export const MAX_BACKOFF_ROUNDS = 64;

interface Attempt {
  failures: number;
  /** The first round this node may be polled again. */
  nextRound: number;
}

export class PollPlan {
  private round = 0;
  private readonly attempts = new Map<string, Attempt>();
  private readonly answered = new Set<string>();

  constructor(private readonly perRound = UNVERIFIED_PER_ROUND) {}

  /** True when `base` answered its last poll with an IP table. */
  verified(base: string): boolean {
    return this.answered.has(base);
  }

  /** The bases to poll this round: every configured one, verified learned ones, a budget of the rest. */
  next(configured: Iterable<string>, learned: Iterable<string>): string[] {
    this.round++;
    const out = new Set(configured);
    const learnedSet = new Set(learned);
    // Only nodes still listed somewhere are remembered: the state stays as bounded as the table.
    for (const base of this.attempts.keys()) if (!learnedSet.has(base) && !out.has(base)) this.attempts.delete(base);
    for (const base of this.answered) if (!learnedSet.has(base) && !out.has(base)) this.answered.delete(base);
    const waiting: string[] = [];
    for (const base of learnedSet) {
      if (out.has(base)) continue;
      if (this.answered.has(base)) out.add(base);
      else if ((this.attempts.get(base)?.nextRound ?? 0) <= this.round) waiting.push(base);
    }
    // Never-tried nodes first, then those that failed least: a flood of dead addresses cannot starve a new real node for long.
    const failures = (base: string) => this.attempts.get(base)?.failures ?? 0;
    waiting.sort((a, b) => failures(a) - failures(b));
    for (const base of waiting.slice(0, this.perRound)) out.add(base);
    return [...out];
  }

  /** What a poll of `base` gave: an IP table (true), or a failure of any kind. */
  result(base: string, ok: boolean): void {
    if (ok) {
      this.answered.add(base);
      this.attempts.delete(base);
      return;
    }
    this.answered.delete(base);
    const failures = (this.attempts.get(base)?.failures ?? 0) + 1;
    this.attempts.set(base, { failures, nextRound: this.round + Math.min(2 ** failures, MAX_BACKOFF_ROUNDS) });
  }
}
