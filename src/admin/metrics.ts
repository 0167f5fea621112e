import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { REFUSAL_REASONS, type AdminSource, type RefusalReason, type TunnelView } from './model.js';

const P = 'p2prc_';

let processRegistry: Registry | undefined;

/** prom-client's process and Node metrics, registered once per process however many servers run. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: P });
  }
  return processRegistry;
}

function tunnelLabels(t: TunnelView): { tunnel: string; port: string } {
  return { tunnel: t.name, port: t.publicPort === null ? '' : String(t.publicPort) };
}

/**
 * The Prometheus view. Counts that already live in the host (visitors, bytes, pool) are read from
 * the source at scrape time, so nothing on the data path calls into here; only rare events (logins,
 * refusals, discovery rounds) are counted as they happen.
 */
export class AdminMetrics {
  readonly registry = new Registry();
  private readonly loginsAccepted: Counter;
  private readonly loginsRefused: Counter<'reason'>;
  private readonly rounds: Counter;
  private readonly peers: Gauge;

  constructor(private readonly source: AdminSource) {
    const r = [this.registry];
    const src = this.source;
    new Gauge({
      name: `${P}connected_clients`,
      help: 'Clients connected now',
      registers: r,
      collect() {
        this.set(src.clients().length);
      },
    });
    new Gauge({
      name: `${P}tunnels`,
      help: 'Tunnels open now, by protocol and engine',
      labelNames: ['protocol', 'engine'],
      registers: r,
      collect() {
        this.reset();
        for (const t of src.tunnels()) this.inc({ protocol: t.protocol, engine: t.engine });
      },
    });
    perTunnel(
      r,
      src,
      `${P}visitor_connections_total`,
      'Visitor connections accepted per tunnel since it opened',
      'counter',
      (t) => t.visitorsTotal,
    );
    perTunnel(
      r,
      src,
      `${P}visitor_connections`,
      'Visitor connections open now per tunnel',
      'gauge',
      (t) => t.visitorsNow,
    );
    perTunnel(r, src, `${P}tunnel_bytes_in_total`, 'Bytes from visitors into each tunnel', 'counter', (t) => t.bytesIn);
    perTunnel(
      r,
      src,
      `${P}tunnel_bytes_out_total`,
      'Bytes from each tunnel back to visitors',
      'counter',
      (t) => t.bytesOut,
    );
    new Gauge({
      name: `${P}data_pool_size`,
      help: 'Idle pre-opened data connections',
      registers: r,
      collect() {
        this.set(src.stats().dataPoolSize);
      },
    });
    new Counter({
      name: `${P}data_pool_misses_total`,
      help: 'Visitors that found the data pool empty and waited for a new connection',
      registers: r,
      collect() {
        this.reset();
        this.inc(src.stats().dataPoolMisses);
      },
    });
    new Gauge({
      name: `${P}pending_handshakes`,
      help: 'Connections not yet past their handshake',
      registers: r,
      collect() {
        this.set(src.stats().pendingHandshakes);
      },
    });
    this.loginsAccepted = new Counter({
      name: `${P}logins_accepted_total`,
      help: 'Logins accepted (p2prc and frp clients)',
      registers: r,
    });
    this.loginsRefused = new Counter({
      name: `${P}logins_refused_total`,
      help: 'Logins and tunnel requests refused, by reason',
      labelNames: ['reason'],
      registers: r,
    });
    for (const reason of REFUSAL_REASONS) this.loginsRefused.inc({ reason }, 0);
    this.rounds = new Counter({
      name: `${P}discovery_rounds_total`,
      help: 'IP table exchange rounds completed',
      registers: r,
    });
    this.peers = new Gauge({
      name: `${P}discovery_peers`,
      help: 'Peers known from the IP table exchange',
      registers: r,
    });
  }

  loginAccepted(): void {
    this.loginsAccepted.inc();
  }

  refused(reason: RefusalReason): void {
    this.loginsRefused.inc({ reason });
  }

  discoveryRound(peers: number): void {
    this.rounds.inc();
    this.peers.set(peers);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition: this side's metrics, then the process ones. */
  async text(): Promise<string> {
    return `${await this.registry.metrics()}\n${await processMetrics().metrics()}`;
  }
}

function perTunnel(
  registers: Registry[],
  src: AdminSource,
  name: string,
  help: string,
  kind: 'counter' | 'gauge',
  value: (t: TunnelView) => number,
): void {
  const config = {
    name,
    help,
    labelNames: ['tunnel', 'port'] as const,
    registers,
    // Re-read on every scrape: a closed tunnel's series disappears with it.
    collect(this: Counter<'tunnel' | 'port'> | Gauge<'tunnel' | 'port'>) {
      this.reset();
      for (const t of src.tunnels()) this.inc(tunnelLabels(t), value(t));
    },
  };
  if (kind === 'counter') new Counter(config);
  else new Gauge(config);
}
