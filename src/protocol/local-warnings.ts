/**
 * Warnings for visitors that found no local service behind their tunnel (`--expose 8999` with nothing
 * listening): the first failure is said at once, then at most one line per tunnel per interval, with
 * how many more failed meanwhile, so a busy public port cannot flood the log, and a service that
 * went away later is still reported. Pure apart from the clock, which is injectable.
 */
export class LocalFailureWarnings {
  private readonly last = new Map<string, { at: number; more: number }>();

  constructor(
    private readonly say: (line: string) => void,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** One visitor of tunnel `name` could not reach `address` (host:port as printed) because of `err`. */
  failed(name: string, address: string, err: Error): void {
    const t = this.now();
    const seen = this.last.get(name);
    if (seen && t - seen.at < this.intervalMs) {
      seen.more++;
      return;
    }
    const more = seen?.more ? `; ${seen.more} more since the last warning` : '';
    this.last.set(name, { at: t, more: 0 });
    // The prefix "local service <addr> unreachable:" is what this line always said; scripts may match it.
    this.say(
      `local service ${address} unreachable: ${err.message} (${name}: visitors get an empty reply until a service runs there${more})`,
    );
  }

  /** Forgets a tunnel, e.g. once its service answered again, so its next failure is said at once. */
  recovered(name: string): void {
    this.last.delete(name);
  }
}
