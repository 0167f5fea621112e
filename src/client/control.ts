import { formatAddress } from '../protocol/address.js';
import { P2prcError, toP2prcError } from '../errors.js';
import { bindingDigest, proofsEqual } from '../protocol/auth.js';
import { CONTROL_AUTH_SINCE, acceptProof, confirmEqual, controlPakeStart } from '../protocol/control-pake.js';
import { randomBytes } from 'node:crypto';
import { clientUserProof } from '../services/accounts.js';
import type net from 'node:net';
import type { Message, Messages, ServiceInfo } from '../protocol/messages.js';
import { DirectSignals } from '../direct/signals.js';
import { explainHandshakeFailure, explainTlsFailure } from './identify.js';
import { FrameChannel } from '../transport/channel.js';
import { channelBinding, dial, type DialOptions } from '../transport/net.js';
import type { ResolvedConnectOptions } from './options.js';
import { DataPool, type LocalTarget } from './pool.js';

/** Pages of a service list a client reads at most (10,000 services fill about 20). */
const MAX_LIST_PAGES = 1_000;

type Pending = {
  onOffer: (port: number) => Promise<boolean>;
  resolve: (port: number, publicHost?: string) => void;
  reject: (err: P2prcError) => void;
};

/**
 * One authenticated control connection to the host. Registration, heartbeats and the data pool
 * live here; the reconnect loop above creates a fresh one after every loss.
 */
export class ControlSession {
  readonly closed: Promise<P2prcError>;
  private resolveClosed!: (err: P2prcError) => void;
  private readonly pending = new Map<string, Pending>();
  private readonly pool: DataPool;
  private lastSeen = Date.now();
  private heartbeat: NodeJS.Timeout;
  private isClosed = false;
  private readonly dialOptions: Omit<DialOptions, 'signal'>;
  onDatagram: ((tunnelId: string, visitorId: number, data: Buffer) => void) | undefined;
  private readonly listWaiters: Array<(page: Messages['ServiceList']) => void> = [];
  /** The host's STUN responder (UDP), 0 when it runs none: direct paths need it. */
  stunPort = 0;
  /** Direct-path signalling through this session: offers out (visitor), offers in (owner). */
  readonly direct: DirectSignals;

  constructor(
    private readonly channel: FrameChannel,
    readonly sessionId: string,
    readonly publicHost: string,
    readonly fingerprint: string | undefined,
    key: Buffer,
    dialOptions: Omit<DialOptions, 'signal'>,
    heartbeatMs: number,
    poolSize: number,
    targets: (tunnelId: string) => LocalTarget | undefined,
    onWarning: (message: string) => void,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.dialOptions = dialOptions;
    this.pool = new DataPool(
      {
        sessionId,
        key,
        dial: dialOptions,
        target: targets,
        onError: onWarning,
        onServiceAuthFailed: (id, visitorId) => this.reportServiceAuthFailure(id, visitorId),
        onSignallingKey: (id, keyId, k) => this.direct.rememberKey(id, keyId, k),
      },
      poolSize,
    );
    this.direct = new DirectSignals((type, body) => !this.isClosed && this.channel.send(type, body));
    channel.onMessage((m) => this.onMessage(m));
    channel.on('close', (err) =>
      this.close(err ?? new P2prcError('E_CLOSED', 'control connection to the host was lost')),
    );
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastSeen > 2 * heartbeatMs) {
        this.close(new P2prcError('E_TIMEOUT', `host silent for ${2 * heartbeatMs} ms`));
      } else {
        channel.send('Ping', { t: Date.now() });
      }
    }, heartbeatMs);
    this.heartbeat.unref();
  }

  startPool(): void {
    this.pool.start();
  }

  get poolIdle(): number {
    return this.pool.idleCount;
  }

  /** Registers a tunnel; `onOffer` decides whether an offered port is usable on this side. */
  /** Resolves with the public port and the host's name for it (the claimed domain of an http tunnel, else ''). */
  register(
    req: Messages['Register'],
    onOffer: (port: number) => Promise<boolean>,
  ): Promise<{ port: number; publicHost: string }> {
    return new Promise((resolve, reject) => {
      if (this.isClosed) return reject(new P2prcError('E_CLOSED', 'session closed'));
      this.pending.set(req.tunnelId, {
        onOffer,
        resolve: (port, publicHost = '') => resolve({ port, publicHost }),
        reject,
      });
      this.channel.send('Register', req);
    });
  }

  /** Offers a private service by ID (no public port); rejects with the host's code (E_CONFLICT, ...). */
  registerService(serviceId: string, description: string, ownerKey?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.isClosed) return reject(new P2prcError('E_CLOSED', 'session closed'));
      this.pending.set(`svc:${serviceId}`, { onOffer: async () => false, resolve: () => resolve(), reject });
      this.channel.send('RegisterService', { serviceId, description, ...(ownerKey ? { ownerKey } : {}) });
    });
  }

  /** Every service, page by page (a host before paging answers the first request with all of them). */
  async listServices(timeoutMs = 10_000): Promise<ServiceInfo[]> {
    const all: ServiceInfo[] = [];
    let after = '';
    // Bounded: each page holds at least one service and the host keeps at most 10,000 by default.
    for (let pages = 0; pages < MAX_LIST_PAGES; pages++) {
      const page = await this.listPage(after, timeoutMs);
      all.push(...page.services);
      if (page.next === undefined) return all;
      if (page.next <= after)
        throw new P2prcError('E_PROTOCOL', `service list cursor went backwards (${page.next} after ${after})`);
      after = page.next;
    }
    throw new P2prcError('E_TOO_LARGE', `service list longer than ${MAX_LIST_PAGES} pages`);
  }

  private listPage(after: string, timeoutMs: number): Promise<Messages['ServiceList']> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new P2prcError('E_TIMEOUT', 'the host did not answer the service list request')),
        timeoutMs,
      );
      this.listWaiters.push((page) => (clearTimeout(timer), resolve(page)));
      void this.closed.then((e) => (clearTimeout(timer), reject(e)));
      this.channel.send('ListServices', { after });
    });
  }

  reportServiceAuthFailure(serviceId: string, visitorId: number): void {
    this.channel.send('ServiceAuthFailed', { serviceId, visitorId });
  }

  /** Opens a visit connection to a service; resolves with the raw socket once the host paired it. */
  async openVisit(serviceId: string): Promise<net.Socket> {
    const { socket } = await dial({ ...this.dialOptions });
    const channel = new FrameChannel(socket, { rawAfter: (m) => m.type === 'Bind' });
    channel.sendPreamble();
    channel.send('Hello', { role: 'visit', sessionId: this.sessionId, serviceId, ...this.pool.nextProof() });
    const reply = await channel.next(this.dialOptions.timeoutMs);
    if (reply.type === 'Error') throw new P2prcError(reply.body.code, reply.body.message);
    if (reply.type !== 'Bind') throw new P2prcError('E_PROTOCOL', `expected Bind, got ${reply.type}`);
    const head = channel.detach();
    if (head.length > 0) socket.unshift(head);
    return socket;
  }

  sendDatagram(tunnelId: string, visitorId: number, data: Buffer): void {
    // Datagram semantics: under a backed-up control stream, drop rather than queue without bound.
    if (this.isClosed || this.channel.socket.writableLength > 4 * 1024 * 1024) return;
    this.channel.send('UdpData', { tunnelId, visitorId, data });
  }

  /** Closes the tunnels on the host and waits (bounded) for the host to see it, so ports free at once. */
  async goodbye(tunnelIds: string[], timeoutMs = 1_000): Promise<void> {
    if (this.isClosed) return;
    for (const tunnelId of tunnelIds) this.channel.send('CloseTunnel', { tunnelId });
    this.channel.socket.end();
    const timer = setTimeout(() => this.close(), timeoutMs);
    await this.closed;
    clearTimeout(timer);
  }

  private onMessage(m: Message): void {
    this.lastSeen = Date.now();
    switch (m.type) {
      case 'Ping':
        this.channel.send('Pong', { t: m.body.t });
        return;
      case 'Pong':
        return;
      case 'UdpData':
        this.onDatagram?.(m.body.tunnelId, m.body.visitorId, m.body.data);
        return;
      case 'ReqData':
        this.pool.request(Math.min(m.body.count, 256));
        return;
      case 'PortOffer': {
        const p = this.pending.get(m.body.tunnelId);
        const { tunnelId, port } = m.body;
        if (!p) return;
        p.onOffer(port).then(
          (ok) =>
            this.channel.send(
              ok ? 'PortConfirm' : 'PortReject',
              ok ? { tunnelId, port } : { tunnelId, port, reason: 'local-taken' },
            ),
          () => this.channel.send('PortReject', { tunnelId, port, reason: 'local-error' }),
        );
        return;
      }
      case 'ServiceRegistered':
        this.settle(`svc:${m.body.serviceId}`, (p) => p.resolve(0));
        return;
      case 'ServiceList':
        this.listWaiters.shift()?.(m.body); // answers come in the order of the requests
        return;
      case 'Registered':
        this.settle(m.body.tunnelId, (p) => p.resolve(m.body.port, m.body.publicHost));
        return;
      case 'RegisterFailed':
        this.settle(m.body.tunnelId, (p) =>
          p.reject(new P2prcError(m.body.code, m.body.message, { details: { side: m.body.side } })),
        );
        return;
      case 'Error':
        this.close(new P2prcError(m.body.code, `host: ${m.body.message}`));
        return;
      case 'DirectOffer':
      case 'DirectAnswer':
      case 'DirectRefused':
        this.direct.receive(m);
        return;
      default:
        this.close(new P2prcError('E_PROTOCOL', `unexpected ${m.type} from the host`));
    }
  }

  private settle(tunnelId: string, fn: (p: Pending) => void): void {
    const p = this.pending.get(tunnelId);
    if (!p) return;
    this.pending.delete(tunnelId);
    fn(p);
  }

  close(reason: P2prcError = new P2prcError('E_CLOSED', 'closed')): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearInterval(this.heartbeat);
    this.pool.close();
    this.channel.close(reason);
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
    this.direct.close(reason);
    this.resolveClosed(reason);
  }
}

/** Dials, authenticates both ways, and returns a live session. Errors carry the host's code. */
export async function openControlSession(
  o: ResolvedConnectOptions,
  pin: string | undefined,
  targets: (tunnelId: string) => LocalTarget | undefined,
  onWarning: (message: string) => void,
): Promise<ControlSession> {
  const dialOptions = { host: o.host, port: o.port, tls: o.tls, fingerprint: pin, timeoutMs: o.connectTimeoutMs };
  const { socket, fingerprint, ticket } = await dial({ ...dialOptions, signal: o.signal }).catch(
    async (err: unknown) => {
      throw await explainTlsFailure(toP2prcError(err), o.host, o.port, o.connectTimeoutMs);
    },
  );
  const binding = channelBinding(socket);
  const channel = new FrameChannel(socket);
  // Whether the server said anything in p2prc: a server that never does is no p2prc host.
  let heard = false;
  try {
    const sid = randomBytes(32);
    const pake = controlPakeStart(o.token, binding, sid);
    channel.sendPreamble();
    channel.send('Hello', {
      role: 'control',
      clientId: o.clientId,
      name: o.name.slice(0, 200),
      agent: 'p2prc',
      ...(o.user ? { user: o.user.name } : {}),
      sid: sid.toString('hex'),
      element: pake.element.toString('hex'),
    });
    const first = await channel.next(o.connectTimeoutMs);
    heard = true;
    const challenge = expect(first, 'Challenge');
    if (binding && challenge.binding !== undefined && challenge.binding !== bindingDigest(binding))
      throw new P2prcError(
        'E_TLS',
        `the host's TLS session is not this one: a TLS-terminating relay sits between you and ${formatAddress(o.host, o.port)} (someone may be intercepting the connection); no proof was sent`,
      );
    if (challenge.element === undefined || challenge.confirm === undefined)
      throw new P2prcError(
        'E_VERSION',
        `the host at ${formatAddress(o.host, o.port)} runs p2prc ${challenge.version ?? 'before 0.1'}, which checks tokens in a way a dishonest host could test guesses against offline; this client needs a host of p2prc ${CONTROL_AUTH_SINCE} or later (no proof was sent)`,
      );
    const ad = { clientId: o.clientId, user: o.user?.name ?? '', hostNonce: challenge.nonce };
    const hostElement = Buffer.from(challenge.element, 'hex');
    const keys = pake.finish(hostElement, pake.element, hostElement, ad);
    if (!confirmEqual(keys.hostConfirm, challenge.confirm)) {
      throw new P2prcError(
        'E_AUTH',
        binding
          ? 'wrong token: the host could not prove it knows this token (or the TLS session was intercepted)'
          : 'wrong token: the host could not prove it knows this token',
      );
    }
    const nonce = sid.toString('hex');
    const userAuth =
      o.user && challenge.userSalt
        ? clientUserProof(o.user.password, {
            user: o.user.name,
            salt: challenge.userSalt,
            hostNonce: challenge.nonce,
            clientNonce: nonce,
            binding,
          })
        : undefined;
    channel.send('Auth', {
      nonce,
      mac: keys.clientConfirm.toString('hex'),
      ...(userAuth ? { userMac: userAuth.proof } : {}),
    });
    const ok = expect(await channel.next(o.connectTimeoutMs), 'AuthOk');
    if (!proofsEqual(acceptProof(keys.sessionKey, ok.sessionId), ok.mac)) {
      throw new P2prcError('E_AUTH', 'the host did not prove the session it opened');
    }
    // SCRAM's ServerSignature: only a host holding this user's record can make it (a host without
    // a users file sends no salt and asks for no account).
    if (userAuth && !(ok.userSig && proofsEqual(userAuth.serverSignature, ok.userSig))) {
      throw new P2prcError('E_AUTH', `the host could not prove it holds the account of user ${o.user!.name}`);
    }
    const key = keys.sessionKey;
    const heartbeatMs = Math.min(o.heartbeatMs, ok.heartbeatMs || o.heartbeatMs);
    // Data connections must reach the same certificate: pin what we saw even on first use.
    // ...and resume this connection's TLS session there: the data connection skips the certificate
    // exchange (about half a host's handshake work per client login).
    const dataDial = { ...dialOptions, fingerprint: fingerprint ?? pin, session: ticket() };
    const session = new ControlSession(
      channel,
      ok.sessionId,
      ok.publicHost || o.host,
      fingerprint,
      key,
      dataDial,
      heartbeatMs,
      o.poolSize,
      targets,
      onWarning,
    );
    session.stunPort = ok.stunPort ?? 0;
    return session;
  } catch (err) {
    channel.close();
    throw await explainHandshakeFailure(toP2prcError(err, 'E_PROTOCOL'), o, heard);
  }
}

function expect<K extends keyof Messages>(m: Message, type: K): Messages[K] {
  if (m.type === 'Error') throw new P2prcError(m.body.code, m.body.message);
  if (m.type !== type) throw new P2prcError('E_PROTOCOL', `expected ${type}, got ${m.type}`);
  return m.body as Messages[K];
}
