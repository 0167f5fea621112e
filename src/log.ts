/**
 * Debug lines for failures that are handled (a connection dropped, a peer's garbage refused) but
 * worth seeing when something misbehaves. Off by default. `P2PRC_DEBUG=frp-wire,mux` (or `*`)
 * prints the named areas to stderr, like NODE_DEBUG; a program can route them with setDebugLogger.
 */
export type DebugLogger = (area: string, message: string) => void;

function fromEnv(): DebugLogger | undefined {
  const spec = process.env.P2PRC_DEBUG?.trim();
  if (!spec) return undefined;
  const areas = new Set(spec.split(',').map((a) => a.trim()));
  return (area, message) => {
    if (areas.has('*') || areas.has(area)) process.stderr.write(`p2prc:${area} ${message}\n`);
  };
}

let logger: DebugLogger | undefined = fromEnv();

/** Replaces where debug lines go; undefined turns them off. */
export function setDebugLogger(next: DebugLogger | undefined): void {
  logger = next;
}

export function debug(area: string, message: string): void {
  logger?.(area, message);
}
