import { EventEmitter } from 'node:events';
import getPort from 'get-port';
import { formatAddress, type PublishedTunnel } from '../protocol/address.js';
import { publishWithPortRetry, type PortPair, type PortSpec } from '../protocol/port-retry.js';
import { configFormatFor, renderClientConfig, type FrpProxy } from './config.js';
import { FrpProcess } from './process.js';
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

/**
 * Publishes tunnels through a stock frps by supervising a real frpc. frp cannot pick a port free on
 * both sides, so p2prc picks one free locally and retries with another when frps answers "port
 * unavailable"; frpc itself reconnects after frps restarts (login_fail_exit = false), same ports.
 */
export class FrpPublisher extends EventEmitter<{ status: [string]; published: [PublishedTunnel[]] }> {
  private process: FrpProcess | undefined;
  private assigned = new Map<string, PortPair>();

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
    this.assigned = ports;
    this.process = result;
    result.on('restart', (r) =>
      this.emit('status', `frpc exited; restarting in ${(r.delayMs / 1000).toFixed(1)}s (attempt ${r.attempt})`),
    );
    return this.published();
  }

  /** One frpc with these ports; rejects (frpc stopped) when it is not ready, e.g. frps refused a port. */
  private async launch(assigned: ReadonlyMap<string, PortPair>): Promise<FrpProcess> {
    const format = configFormatFor(this.o.binary.version);
    const proxies: FrpProxy[] = this.o.tunnels.map((t) => ({
      name: t.name,
      type: t.protocol,
      localIP: t.localHost ?? '127.0.0.1',
      localPort: assigned.get(t.name)!.local,
      remotePort: assigned.get(t.name)!.remote,
    }));
    const proc = new FrpProcess({
      binary: this.o.binary,
      format,
      config: renderClientConfig(
        { serverAddr: this.o.serverAddr, serverPort: this.o.serverPort, token: this.o.token, tls: this.o.tls, proxies },
        format,
      ),
      proxies: proxies.filter((p) => p.type === 'tcp').map((p) => p.name),
      logFile: this.o.logFile,
      onLog: this.o.onLog,
      waitForServer: this.o.waitForServer,
    });
    proc.on('error', (e) => this.emit('status', `frp: ${e.code}: ${e.message}`));
    await proc.start();
    return proc;
  }

  published(): PublishedTunnel[] {
    return this.o.tunnels.map((t) => {
      const a = this.assigned.get(t.name)!;
      return {
        name: t.name,
        protocol: t.protocol,
        localHost: t.localHost ?? '127.0.0.1',
        localPort: a.local,
        remotePort: a.remote,
        publicHost: this.o.serverAddr,
        publicAddress: formatAddress(this.o.serverAddr, a.remote),
      };
    });
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  async close(): Promise<void> {
    await this.process?.stop();
  }
}
