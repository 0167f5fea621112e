/**
 * Token buckets per source, in a bounded table (pure). Each source may spend `burst` at once and
 * `perSecond` after that. The table holds at most `maxSources`: a source seen again moves to the
 * back (a Map keeps insertion order), so when it is full the one not heard from longest goes. An
 * evicted source starts again with a full bucket, which a forger of many sources gets anyway: the
 * limit is for what one address can draw, and the bound is for memory.
 */
export interface BucketLimits {
  perSecond: number;
  burst: number;
  maxSources: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class SourceBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limits: BucketLimits) {}

  /** True when `source` may have one more now (and takes it); false when its bucket is empty. */
  take(source: string, now: number): boolean {
    const { perSecond, burst, maxSources } = this.limits;
    let b = this.buckets.get(source);
    if (b) {
      this.buckets.delete(source);
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
      b.at = now;
    } else {
      b = { tokens: burst, at: now };
      if (this.buckets.size >= maxSources) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(source, b);
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }
}
