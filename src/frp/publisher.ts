import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import getPort from 'get-port';
import { toP2prcError } from '../errors.js';
import { formatAddress, type PublishedTunnel } from '../protocol/address.js';
import { isPortRefusal, publishWithPortRetry, type PortPair, type PortSpec } from '../protocol/port-retry.js';
import { configFormatFor, renderClientConfig, type FrpAdminApi, type FrpProxy } from './config.js';
import { FrpProcess } from './process.js';
import { classifyFrpLine, frpProxyRefusal } from './logs.js';
import { reloadFrpc, waitForFrpcStatus, type FrpcProxyStatus } from './admin-api.js';
import type { FrpBinary } from './binary.js';

export interface FrpPublisherOptions {
  binary: FrpBinary;
  serverAddr: string;
  serverPort: number;
  token: string;
  tls: boolean;
  tunnels: PortSpec[];
  /** The host runs on this machine, so a port cannot be free on both sides at once. */
  hostIsLocal: boolean;
  logFile?: string | undefined;
  onLog?: ((line: string) => void) | undefined;
  /** Keep waiting (frpc retries by itself) while the server is unreachable, instead of failing. */
  waitForServer: boolean;
}

/** One running frpc: its process, its admin API (when a port is "any"), and the proxies its config asks for. */
interface Launched {
  proc: FrpProcess;
  admin: FrpAdminApi | undefined;
  proxies: FrpProxy[];
  /** The public ports frps gave, by proxy name. */
  remote: Map<string, number>;
}

/**
 * Publishes tunnels through a stock frps by supervising a real frpc. An "any" port goes out as
 * remote_port 0, so frps picks one inside its allow_ports (or the one held before, when given and
 * frps still allows it). frpc prints no port, so its admin API (`/api/status`) tells which, and the
 * config is then rewritten to ask for that port by number and reloaded (`/api/reload`): a restarted
 * frps or frpc gets the same port back. When frps later refuses it, the proxy asks for 0 again and
 * the new port is published.
 */
export class FrpPublisher extends EventEmitter<{ status: [string]; published: [PublishedTunnel[]] }> {
  private run: Launched | undefined;
  private local = new Map<string, number>();
  private remote = new Map<string, number>();
  private syncing: Promise<void> | undefined;
  private again = false;
  /** Ends admin API calls under way when p2prc stops. */
  private readonly stopping = new AbortController();

  constructor(private readonly o: FrpPublisherOptions) {
    super();
  }

  async start(): Promise<PublishedTunnel[]> {
    const { result, ports } = await publishWithPortRetry(
      this.o.tunnels,
      {
        hostIsLocal: this.o.hostIsLocal,
        freePort: (exclude) => getPort({ exclude }),
        onRetry: (m) => this.emit('status', m),
      },
      (assigned) => this.launch(assigned),
    );
    this.run = result;
    this.local = new Map([...ports].map(([name, p]) => [name, p.local]));
    this.remote = result.remote;
    result.proc.on('restart', (r) =>
      this.emit('status', `frpc exited; restarting in ${(r.delayMs / 1000).toFixed(1)}s (attempt ${r.attempt})`),
    );
    if (result.admin) {
      const anyNames = new Set(this.o.tunnels.filter((t) => t.remotePort === 'any').map((t) => t.name));
      // frps answered a proxy again (frpc reconnected or restarted, or our reload): check its port.
      result.proc.on('log', (line) => {
        const event = classifyFrpLine(line);
        const proxy = event?.kind === 'proxy-ready' || event?.kind === 'error' ? event.proxy : undefined;
        if (proxy !== undefined && anyNames.has(proxy)) this.sync();
      });
      this.sync();
      await this.syncing;
    }
    return this.published();
  }

  /** One frpc with these ports; rejects (frpc stopped) when it is not ready, e.g. frps refused a port. */
  private async launch(assigned: ReadonlyMap<string, PortPair>): Promise<Launched> {
    const admin = this.o.tunnels.some((t) => t.remotePort === 'any')
      ? { port: await getPort({ host: '127.0.0.1' }), user: 'p2prc', password: randomBytes(16).toString('hex') }
      : undefined;
    const proxies: FrpProxy[] = this.o.tunnels.map((t) => ({
      name: t.name,
      type: t.protocol,
      localIP: t.localHost ?? '127.0.0.1',
      localPort: assigned.get(t.name)!.local,
      remotePort: assigned.get(t.name)!.remote,
    }));
    const proc = new FrpProcess({
      binary: this.o.binary,
      format: configFormatFor(this.o.binary.version),
      config: this.render(proxies, admin),
      proxies: proxies.filter((p) => p.type === 'tcp').map((p) => p.name),
      logFile: this.o.logFile,
      onLog: this.o.onLog,
      waitForServer: this.o.waitForServer,
    });
    proc.on('error', (e) => this.emit('status', `frp: ${e.code}: ${e.message}`));
    await proc.start();
    try {
      const remote = new Map(proxies.map((p) => [p.name, p.remotePort]));
      if (admin) {
        const status = await waitForFrpcStatus(admin, (s) => settled(s, proxies), { signal: this.stopping.signal });
        for (const p of proxies) {
          const s = status.get(p.name)!;
          if (s.err) throw frpProxyRefusal(p.name, s.err);
          remote.set(p.name, s.remotePort!);
        }
      }
      return { proc, admin, proxies, remote };
    } catch (err) {
      await proc.stop();
      throw err;
    }
  }

  private render(proxies: FrpProxy[], admin: FrpAdminApi | undefined): string {
    const { serverAddr, serverPort, token, tls } = this.o;
    return renderClientConfig(
      { serverAddr, serverPort, token, tls, admin, proxies },
      configFormatFor(this.o.binary.version),
    );
  }

  /** Runs `resync` now, or once more after the one under way: never two at a time. */
  private sync(): void {
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        await this.resync().catch((err: unknown) => {
          const e = toP2prcError(err);
          if (!this.stopping.signal.aborted)
            this.emit('status', `warning: frp: ${e.code}: cannot confirm the public ports: ${e.message}`);
        });
      } while (this.again && !this.stopping.signal.aborted);
      this.syncing = undefined;
    })();
  }

  /**
   * Reads which ports frps gave the "any" proxies and makes the config ask for those numbers; a
   * number frps refuses goes back to 0. Reloads frpc when the config changed, and tells the new
   * ports when they changed. Ends when the config and frps agree (the reload's answers come back
   * through the log and start another round, which then finds nothing to change).
   */
  private async resync(): Promise<void> {
    const run = this.run;
    if (!run?.admin || this.stopping.signal.aborted) return;
    const anyNames = new Set(this.o.tunnels.filter((t) => t.remotePort === 'any').map((t) => t.name));
    const mine = run.proxies.filter((p) => anyNames.has(p.name));
    const signal = this.stopping.signal;
    const status = await waitForFrpcStatus(run.admin, (s) => settled(s, mine), { signal });
    let reload = false;
    let moved = false;
    for (const p of mine) {
      const s = status.get(p.name)!;
      if (s.err) {
        if (p.remotePort !== 0 && isPortRefusal(frpProxyRefusal(p.name, s.err))) {
          this.emit('status', `frps refused port ${p.remotePort} for ${p.name} (${s.err}); letting frps choose one`);
          p.remotePort = 0;
          reload = true;
        }
        continue;
      }
      if (s.remotePort !== this.remote.get(p.name)) moved = true;
      this.remote.set(p.name, s.remotePort!);
      if (p.remotePort !== s.remotePort) {
        p.remotePort = s.remotePort!;
        reload = true;
      }
    }
    if (moved) this.emit('published', this.published());
    if (!reload || this.stopping.signal.aborted) return;
    await run.proc.rewriteConfig(this.render(run.proxies, run.admin));
    await reloadFrpc(run.admin, 3_000, signal);
  }

  published(): PublishedTunnel[] {
    return this.o.tunnels.map((t) => {
      const remote = this.remote.get(t.name)!;
      return {
        name: t.name,
        protocol: t.protocol,
        localHost: t.localHost ?? '127.0.0.1',
        localPort: this.local.get(t.name)!,
        remotePort: remote,
        publicHost: this.o.serverAddr,
        publicAddress: formatAddress(this.o.serverAddr, remote),
      };
    });
  }

  get pid(): number | undefined {
    return this.run?.proc.pid;
  }

  async close(): Promise<void> {
    this.stopping.abort();
    await this.run?.proc.stop();
    await this.syncing;
  }
}

/** Every proxy named has its answer from frps: running on a known port, or refused. */
function settled(status: Map<string, FrpcProxyStatus>, proxies: FrpProxy[]): boolean {
  return proxies.every((p) => {
    const s = status.get(p.name);
    return !!s && (s.err !== '' || (s.status === 'running' && s.remotePort !== undefined));
  });
}
