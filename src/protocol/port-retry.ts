import { isP2prcError } from '../errors.js';

/**
 * Ports for publishing through a stock frps. A fixed port is asked for as it is. "Any" is frp's
 * remote_port 0: frps picks a free port inside its allow_ports and says which in NewProxyResp, so
 * its policy decides, as a p2prc host's does. A port this client held before (`previous`), or the
 * number of a local port chosen here for a remote host, is asked for first, and a refusal of it
 * falls back to 0. Both frp engines (the supervised frpc and the
 * native frp-wire client) publish through this one loop. No sockets here: finding a free local port
 * and binding a listener are passed in.
 */
export interface PortSpec {
  name: string;
  protocol: 'tcp' | 'udp';
  /** Fixed local port; omit with `listen` to have one chosen (free locally; with a remote host, asked for publicly by the same number). */
  localPort?: number;
  listen?: (port: number) => Promise<void>;
  remotePort: number | 'any';
  /** With "any": the public port this tunnel had last time, asked for first. */
  previous?: number | undefined;
  /** Where the local service listens (the node server's --bind); default 127.0.0.1. */
  localHost?: string;
}

/** `remote` 0: frps chooses, and the engine learns the port from frps's answer. */
export interface PortPair {
  local: number;
  remote: number;
}

export interface PortRetryOptions {
  /** The host runs on this machine, so a port cannot be free on both sides at once. */
  hostIsLocal: boolean;
  /** A port free on this machine and not in `exclude` (get-port in production). */
  freePort(exclude: number[]): Promise<number>;
  /** Told each time a refused previous port gives way to frps's choice. */
  onRetry?: (message: string) => void;
}

/** The codes frps's refusal of one port maps to: taken, or outside its allow_ports. */
export function isPortRefusal(err: unknown): boolean {
  return isP2prcError(err, 'E_PORT_TAKEN') || isP2prcError(err, 'E_PORT_DENIED');
}

/** The port in frp's remote_addr for tcp and udp (":6000" from frps, "host:6000" from frpc's admin API); undefined when it names none. */
export function assignedPort(remoteAddr: string): number | undefined {
  const m = /:(\d{1,5})$/.exec(remoteAddr.trim());
  const port = m ? Number(m[1]) : NaN;
  return port >= 1 && port <= 65535 ? port : undefined;
}

async function choose(t: PortSpec, avoid: number[], o: PortRetryOptions): Promise<PortPair> {
  const chosenHere = t.localPort === undefined;
  const local = t.localPort ?? (t.remotePort !== 'any' && !o.hostIsLocal ? t.remotePort : await o.freePort(avoid));
  if (chosenHere) await t.listen?.(local);
  if (t.remotePort !== 'any') return { local, remote: t.remotePort };
  // A port chosen here for a remote host is asked for by the same number, as P2PRC does (the node's
  // IP table then shows one port); a refusal lets frps choose.
  return { local, remote: t.previous ?? (chosenHere && !o.hostIsLocal ? local : 0) };
}

/**
 * Assigns ports to every spec, then runs `attempt` until the server takes them all. A refusal is an
 * E_PORT_TAKEN or E_PORT_DENIED whose `details.proxy` names the spec: an "any" spec that asked for
 * its previous port asks for 0 instead; any other refusal is the answer (a requested port stays
 * refused, and so does frps finding no free port). `attempt` cleans up after itself when it throws.
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
    avoid.push(pair.local);
    ports.set(t.name, pair);
  }
  // Each spec falls back at most once, so this ends after specs.length + 1 attempts.
  for (;;) {
    try {
      return { result: await attempt(ports), ports };
    } catch (err) {
      const name = isPortRefusal(err) ? (err as { details: { proxy?: unknown } }).details.proxy : undefined;
      const spec = specs.find((t) => t.name === name);
      const old = spec && ports.get(spec.name);
      if (!spec || !old || spec.remotePort !== 'any' || old.remote === 0) throw err;
      o.onRetry?.(
        `frps refused port ${old.remote} for ${spec.name} (${(err as Error).message}); letting frps choose one`,
      );
      ports.set(spec.name, { local: old.local, remote: 0 });
    }
  }
}
