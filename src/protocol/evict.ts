/**
 * Second-chance (CLOCK) eviction over a Map's insertion order, for per-source tables that forged
 * sources must not grow without bound (UDP tunnels on the host and the client). Entries set `used`
 * when traffic touches them, a field write and nothing else, so the data path pays no map operations;
 * the cost lands on eviction, which only happens when the table is full.
 */
export interface ClockEntry {
  used: boolean;
}

/** Tries before the oldest entry goes even if it was used: eviction stays O(1) when all are busy. */
const MAX_SECOND_CHANCES = 16;

/**
 * Removes and returns the entry to evict: the first in insertion order not used since it was last
 * passed over; a used one loses its mark and moves to the back. Undefined for an empty map.
 */
export function evictOne<K, V extends ClockEntry>(map: Map<K, V>): [K, V] | undefined {
  for (let tries = 0; tries < MAX_SECOND_CHANCES; tries++) {
    const first = map.entries().next();
    if (first.done) return undefined;
    const [key, value] = first.value;
    map.delete(key);
    if (!value.used || tries === MAX_SECOND_CHANCES - 1) return [key, value];
    value.used = false;
    map.set(key, value);
  }
  return undefined;
}
