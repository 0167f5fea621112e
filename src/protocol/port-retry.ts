import { isP2prcError } from '../errors.js';

/**
 * Ports for publishing through a stock frps, which cannot negotiate a port free on both sides the
 * way a p2prc host does: p2prc picks one free here, and when frps answers "port unavailable" for a
 * proxy, picks another, never one tried before. Both frp engines (the supervised frpc and the
 * native frp-wire client) publish through this one loop. No sockets here: finding a free local
 * port and binding a listener are passed in.
 */
export interface PortSpec {
  name: string;
  protocol: 'tcp' | 'udp';
  /** Fixed local port; omit with `listen` to have one chosen (free locally, and the same number publicly when the host is remote). */
  localPort?: number;
  listen?: (port: number) => Promise<void>;
  remotePort: number | 'any';
  /** Where the local service listens (the node server's --bind); default 127.0.0.1. */
  localHost?: string;
}

export interface PortPair {
  local: number;
  remote: number;
}

export interface PortRetryOptions {
  /** The host runs on this machine, so a port cannot be free on both sides at once. */
  hostIsLocal: boolean;
  /** A port free on this machine and not in `exclude` (get-port in production). */
  freePort(exclude: number[]): Promise<number>;
  /** Told each time a refused port is replaced. */
  onRetry?: (message: string) => void;
  maxAttempts?: number;
}

export const MAX_PORT_ATTEMPTS = 10;

async function choose(t: PortSpec, avoid: number[], o: PortRetryOptions): Promise<PortPair> {
  const chosenHere = t.localPort === undefined;
  const local = t.localPort ?? (t.remotePort !== 'any' && !o.hostIsLocal ? t.remotePort : await o.freePort(avoid));
  if (chosenHere) await t.listen?.(local);
  const remote =
    t.remotePort !== 'any' ? t.remotePort : o.hostIsLocal || !chosenHere ? await o.freePort([...avoid, local]) : local;
  return { local, remote };
}

/**
 * Assigns ports to every spec, then runs `attempt` until the server takes them all. A refusal is an
 * E_PORT_TAKEN whose `details.proxy` names the spec; only "any" ports move (a requested port that is
 * refused stays refused, and the error says so). `attempt` cleans up after itself when it throws.
 */
export async function publishWithPortRetry<R>(
  specs: PortSpec[],
  o: PortRetryOptions,
  attempt: (ports: ReadonlyMap<string, PortPair>) => Promise<R>,
): Promise<{ result: R; ports: Map<string, PortPair> }> {
  const avoid: number[] = [];
  const ports = new Map<string, PortPair>();
  for (const t of specs) {
    const pair = await choose(t, avoid, o);
    avoid.push(pair.local, pair.remote);
    ports.set(t.name, pair);
  }
  for (let n = 1; ; n++) {
    try {
      return { result: await attempt(ports), ports };
    } catch (err) {
      const name = isP2prcError(err, 'E_PORT_TAKEN') ? (err.details.proxy as string | undefined) : undefined;
      const spec = specs.find((t) => t.name === name);
      if (!spec || spec.remotePort !== 'any' || n >= (o.maxAttempts ?? MAX_PORT_ATTEMPTS)) throw err;
      const old = ports.get(spec.name)!;
      avoid.push(old.remote);
      o.onRetry?.(`frps refused port ${old.remote} for ${spec.name}; trying another port free on both sides`);
      ports.set(spec.name, { local: old.local, remote: await o.freePort([...avoid, old.local]) });
    }
  }
}
