import { EventEmitter } from 'node:events';
import getPort from 'get-port';
import { isP2prcError } from '../errors.js';
import { formatAddress, type PublishedTunnel } from '../protocol/address.js';
import { configFormatFor, renderClientConfig, type FrpProxy } from './config.js';
import { FrpProcess } from './process.js';
import type { FrpBinary } from './binary.js';

export interface FrpTunnelSpec {
  name: string;
  protocol: 'tcp' | 'udp';
  /** Fixed local port; omit with `listen` to have one chosen (free locally, and the same number publicly when the host is remote). */
  localPort?: number;
  listen?: (port: number) => Promise<void>;
  remotePort: number | 'any';
}

export interface FrpPublisherOptions {
  binary: FrpBinary;
  serverAddr: string;
  serverPort: number;
  token: string;
  tls: boolean;
  tunnels: FrpTunnelSpec[];
  /** The host runs on this machine, so a port cannot be free on both sides at once. */
  hostIsLocal: boolean;
  logFile?: string | undefined;
  onLog?: ((line: string) => void) | undefined;
  /** Keep waiting (frpc retries by itself) while the server is unreachable, instead of failing. */
  waitForServer: boolean;
}

const MAX_PORT_RETRIES = 10;

/**
 * Publishes tunnels through a stock frps by supervising a real frpc. frp cannot pick a port free on
 * both sides, so p2prc picks one free locally and retries with another when frps answers "port
 * unavailable"; frpc itself reconnects after frps restarts (login_fail_exit = false), same ports.
 */
export class FrpPublisher extends EventEmitter<{ status: [string]; published: [PublishedTunnel[]] }> {
  private process: FrpProcess | undefined;
  private readonly assigned = new Map<string, { local: number; remote: number }>();

  constructor(private readonly o: FrpPublisherOptions) {
    super();
  }

  private async choose(t: FrpTunnelSpec, avoid: Set<number>): Promise<{ local: number; remote: number }> {
    const exclude = [...avoid];
    if (t.localPort !== undefined) {
      const remote = t.remotePort === 'any' ? await getPort({ exclude: [...exclude, t.localPort] }) : t.remotePort;
      return { local: t.localPort, remote };
    }
    const local = t.remotePort !== 'any' && !this.o.hostIsLocal ? t.remotePort : await getPort({ exclude });
    const remote = t.remotePort !== 'any' ? t.remotePort : this.o.hostIsLocal ? await getPort({ exclude: [...exclude, local] }) : local;
    await t.listen!(local);
    return { local, remote };
  }

  async start(): Promise<PublishedTunnel[]> {
    const avoid = new Set<number>();
    for (const t of this.o.tunnels) this.assigned.set(t.name, await this.choose(t, avoid));
    for (let attempt = 1; ; attempt++) {
      const proxies: FrpProxy[] = this.o.tunnels.map((t) => ({ name: t.name, type: t.protocol, localIP: '127.0.0.1', localPort: this.assigned.get(t.name)!.local, remotePort: this.assigned.get(t.name)!.remote }));
      const proc = new FrpProcess({
        binary: this.o.binary,
        format: configFormatFor(this.o.binary.version),
        config: renderClientConfig({ serverAddr: this.o.serverAddr, serverPort: this.o.serverPort, token: this.o.token, tls: this.o.tls, proxies }, configFormatFor(this.o.binary.version)),
        proxies: proxies.filter((p) => p.type === 'tcp').map((p) => p.name),
        logFile: this.o.logFile,
        onLog: this.o.onLog,
        waitForServer: this.o.waitForServer,
      });
      proc.on('error', (e) => this.emit('status', `frp: ${e.code}: ${e.message}`));
      try {
        await proc.start();
      } catch (err) {
        const proxy = isP2prcError(err, 'E_PORT_TAKEN') ? (err.details.proxy as string | undefined) : undefined;
        const spec = this.o.tunnels.find((t) => t.name === proxy);
        if (!spec || attempt >= MAX_PORT_RETRIES) throw err;
        const old = this.assigned.get(spec.name)!;
        if (spec.remotePort !== 'any') throw err; // a requested port is refused: say so, do not move it
        avoid.add(old.remote);
        this.emit('status', `frps refused port ${old.remote} for ${spec.name}; trying another port free on both sides`);
        this.assigned.set(spec.name, spec.listen ? { local: old.local, remote: await getPort({ exclude: [...avoid, old.local] }) } : await this.choose(spec, avoid));
        continue;
      }
      this.process = proc;
      proc.on('restart', (r) => this.emit('status', `frpc exited; restarting in ${(r.delayMs / 1000).toFixed(1)}s (attempt ${r.attempt})`));
      return this.published();
    }
  }

  published(): PublishedTunnel[] {
    return this.o.tunnels.map((t) => {
      const a = this.assigned.get(t.name)!;
      return { name: t.name, protocol: t.protocol, localHost: '127.0.0.1', localPort: a.local, remotePort: a.remote, publicHost: this.o.serverAddr, publicAddress: formatAddress(this.o.serverAddr, a.remote) };
    });
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  async close(): Promise<void> {
    await this.process?.stop();
  }
}
