/**
 * Unknown flags said plainly: only the flags that really are unknown (not their values, not the
 * known flags next to them, not yargs' camelCase twins), each with the closest known flag.
 */
export function unknownFlags(argv: string[], known: Iterable<string>): string[] {
  const names = new Set(known);
  return argv
    .filter((a) => a.startsWith('-') && a !== '-' && a !== '--' && !/^-\d/.test(a))
    .map((a) => a.replace(/^-+/, '').split('=')[0]!)
    .filter((n) => !names.has(n) && !(n.startsWith('no-') && names.has(n.slice(3))));
}

/** "unknown flag --expose-port (did you mean --expose?)", for one or more flags. */
export function unknownFlagsMessage(unknown: string[], known: Iterable<string>): string {
  const list = [...new Set(known)].filter((k) => k.length > 1);
  const parts = unknown.map((u) => {
    const best = closest(u, list);
    return `--${u}${best ? ` (did you mean --${best}?)` : ''}`;
  });
  return `unknown flag${parts.length > 1 ? 's' : ''} ${parts.join(', ')}`;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    // A known flag the user extended ("expose-port") or shortened ("expo") is the likeliest meaning.
    const score = word.startsWith(c) || c.startsWith(word) ? Math.abs(word.length - c.length) / 4 : distance(word, c);
    if (score < bestScore) [best, bestScore] = [c, score];
  }
  return bestScore <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** Levenshtein distance, two rows. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
