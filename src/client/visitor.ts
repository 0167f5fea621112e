import net from 'node:net';
import { EventEmitter } from 'node:events';
import { toP2prcError, type P2prcError } from '../errors.js';
import { debug, debugFailure } from '../log.js';
import type { ServiceInfo } from '../protocol/messages.js';
import { listenTcp, tuneSocket } from '../transport/net.js';
import { openControlSession, type ControlSession } from './control.js';
import { resolveConnectOptions, type ConnectOptions } from './options.js';
import { START_MARKER, secureRelay, visitorHandshake } from './service-link.js';

export interface HostAccess extends Omit<ConnectOptions, 'tunnels' | 'services'> {}

export interface VisitOptions extends HostAccess {
  serviceId: string;
  secret: string;
  localPort: number;
  localHost?: string;
}

/** One authenticated control session to a host, reopened when it is lost. */
class SessionKeeper {
  private current: Promise<ControlSession> | undefined;

  constructor(private readonly access: HostAccess) {}

  get(): Promise<ControlSession> {
    if (!this.current) {
      const o = resolveConnectOptions({ ...this.access, tunnels: [], poolSize: 0 });
      // A visitor publishes nothing: no tunnel targets, and its pool warnings are only worth a debug line.
      this.current = openControlSession(o, o.fingerprint, () => undefined, (m) => debug('E_CLOSED', `visitor session: ${m}`));
      this.current.then((s) => void s.closed.then(() => (this.current = undefined)), () => (this.current = undefined));
    }
    return this.current;
  }

  async close(): Promise<void> {
    // A session that never opened was already reported to whoever awaited get().
    const s = await this.current?.catch((err: unknown) => debugFailure('visitor session did not open', err, 'E_UNREACHABLE'));
    s?.close();
  }
}

/** `p2prc --list-services <host>`: ids, descriptions, owners' names and state; never secrets or addresses. */
export async function listServices(access: HostAccess): Promise<ServiceInfo[]> {
  const keeper = new SessionKeeper(access);
  try {
    return await (await keeper.get()).listServices();
  } finally {
    await keeper.close();
  }
}

export class ServiceVisitor extends EventEmitter<{ error: [P2prcError] }> {
  port = 0;
  private readonly server = net.createServer({ allowHalfOpen: true });
  private readonly keeper: SessionKeeper;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly o: VisitOptions) {
    super();
    this.keeper = new SessionKeeper(o);
    this.server.on('connection', (local) => void this.onLocal(local));
  }

  /** Checks the service and the secret once (nothing reaches the service), then opens the local port. */
  async start(): Promise<number> {
    try {
      const probe = await (await this.keeper.get()).openVisit(this.o.serviceId);
      try {
        await visitorHandshake(probe, this.o.secret, this.o.serviceId);
      } finally {
        probe.destroy();
      }
      this.port = await listenTcp(this.server, this.o.localPort, this.o.localHost ?? '127.0.0.1');
      return this.port;
    } catch (err) {
      await this.keeper.close();
      throw err;
    }
  }

  private async onLocal(local: net.Socket): Promise<void> {
    this.sockets.add(local);
    local.once('close', () => this.sockets.delete(local));
    local.on('error', () => local.destroy());
    local.pause();
    try {
      const link = await (await this.keeper.get()).openVisit(this.o.serviceId);
      this.sockets.add(link);
      link.once('close', () => this.sockets.delete(link));
      const keys = await visitorHandshake(link, this.o.secret, this.o.serviceId);
      tuneSocket(local);
      secureRelay(link, local, keys, undefined, START_MARKER, (e) => this.relayFailed(e));
    } catch (err) {
      local.destroy();
      this.report(toP2prcError(err));
    }
  }

  /** A coded failure of the record layer (a tampered record) is reported; a plain close is how connections end. */
  private relayFailed(e: P2prcError): void {
    if (e.code === 'E_CLOSED') debug(e.code, `service ${this.o.serviceId}: relay ended: ${e.message}`);
    else this.report(e);
  }

  private report(e: P2prcError): void {
    // Reported to whoever listens (the CLI prints it); the visitor keeps serving other connections.
    if (this.listenerCount('error') > 0) this.emit('error', e);
    else debug(e.code, `service ${this.o.serviceId}: ${e.message}`);
  }

  async close(): Promise<void> {
    const closed = new Promise((r) => this.server.close(r));
    for (const s of this.sockets) s.destroy();
    await this.keeper.close();
    await closed;
  }
}
