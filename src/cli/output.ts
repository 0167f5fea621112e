import { EXIT_CODES, P2prcError, causeLines, escapeControl, toP2prcError } from '../errors.js';

export interface Output {
  out(line: string): void;
  err(line: string): void;
  verbose: boolean;
}

export const stdio = (verbose: boolean): Output => ({
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  verbose,
});

/** One line for the user (and with --json the same as JSON on stdout); --verbose adds the cause chain. Returns the exit status. */
export function reportError(err: unknown, output: Output, json = false): number {
  const e = toP2prcError(err);
  // A host's Error frame or a peer's name may be in the message: one line, whatever it holds.
  output.err(`p2prc: error ${e.code}: ${escapeControl(e.message)}`);
  if (json) output.out(JSON.stringify({ error: { code: e.code, message: e.message } }));
  if (output.verbose) {
    for (const line of causeLines(e)) output.err(escapeControl(line));
    if (!(err instanceof P2prcError) && err instanceof Error && err.stack) output.err(err.stack);
  }
  return EXIT_CODES[e.code];
}

/** Aligned plain-text table; the header row is upper case. Cells come from peers (service descriptions, names): escaped. */
export function formatTable(headers: string[], rows: string[][]): string {
  rows = rows.map((r) => r.map(escapeControl));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n');
}

/** "2m ago", "3h ago": last-seen columns that read at a glance. */
export function ago(iso: string | undefined | null, now = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '-';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** The status a process killed by each signal would have (128 + its number), for a forced exit. */
const KILLED_STATUS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/**
 * Resolves when SIGINT or SIGTERM arrives (Ctrl-C, systemd stop), and SIGHUP with `hangup` (the
 * terminal closed: a command that logs to the terminal stops as cleanly as on SIGTERM; one with
 * --log-file keeps SIGHUP for reopening its log). The listeners stay: conf's atomic writes load
 * when-exit, which takes the first of these signals once and re-raises it; with no listener of ours
 * left, that re-raise would kill the process in the middle of its clean stop. A second signal from a
 * person (later than the re-raise) forces the exit. Long-running commands call it as they start, so
 * that no signal finds only when-exit's listener.
 */
export function untilSignal(options: { hangup?: boolean } = {}): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let receivedAt = 0;
    const on = (sig: NodeJS.Signals) => {
      // when-exit re-raises the same signal at once; only a person's second Ctrl-C comes later.
      if (receivedAt && Date.now() - receivedAt > 500) process.exit(KILLED_STATUS[sig] ?? 1);
      if (receivedAt) return;
      receivedAt = Date.now();
      // A closed terminal fails every write (EIO): the clean stop must not die of its own last lines.
      if (sig === 'SIGHUP') for (const s of [process.stdout, process.stderr]) s.on('error', () => undefined);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
    if (options.hangup) process.on('SIGHUP', on);
  });
}

/** SIGHUP stops a command that logs to the terminal; with --log-file it reopens the log instead. */
export const stopsOnHangup = (args: Record<string, unknown>): { hangup: boolean } => ({ hangup: !args['log-file'] });
