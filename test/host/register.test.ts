import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { P2prcError } from '../../src/errors.js';
import { negotiateTunnel, type RegistryOptions } from '../../src/host/register.js';
import { PortPolicy } from '../../src/host/ports.js';
import { parsePortRanges } from '../../src/protocol/address.js';
import type { ClientSession } from '../../src/host/session.js';
import type { HostedTunnel } from '../../src/host/tunnel.js';
import type { Messages } from '../../src/protocol/messages.js';
import { freePort, listen } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

/**
 * The client's side of the negotiation as a plain object: it answers each offered port from `accept`
 * and records the offers. The host side under test binds real listeners on 127.0.0.1.
 */
function clientSide(accept: (port: number) => boolean | Promise<boolean>, clientId = 'c1') {
  const offers: number[] = [];
  const tunnels = new Map<string, HostedTunnel>();
  const session = {
    clientId,
    tunnels,
    offerPort: async (_tunnelId: string, port: number) => (offers.push(port), accept(port)),
  } as unknown as ClientSession;
  return { session, offers, tunnels };
}

function options(allow: string | undefined, overrides: Partial<RegistryOptions> = {}): RegistryOptions {
  return {
    policy: new PortPolicy(allow ? parsePortRanges(allow) : undefined),
    bind: '127.0.0.1',
    maxTunnelsPerClient: 10,
    offerTimeoutMs: 1_000,
    maxOffers: 20,
    udpIdleMs: 60_000,
    ...overrides,
  };
}

const req = (remotePort: number, matchLocal = true, protocol: 'tcp' | 'udp' = 'tcp'): Messages['Register'] => ({
  tunnelId: `t-${remotePort}-${protocol}`,
  protocol,
  remotePort,
  name: 'web',
  matchLocal,
});

/** Whether something listens on the port: a connect either succeeds or is refused (loopback answers at once). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => (s.destroy(), resolve(false)));
  });
}

async function negotiate(
  o: RegistryOptions,
  session: ClientSession,
  r: Messages['Register'],
  reserved?: HostedTunnel,
): Promise<HostedTunnel> {
  const t = await negotiateTunnel(o, session, r, {
    take: (p) => (reserved?.port === p ? reserved : undefined),
    takeNamed: () => undefined,
  });
  defer(() => t.close());
  return t;
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: { code: string; details: unknown }) => ({ code: e.code, details: e.details }),
  );

describe('port negotiation', () => {
  it('binds "any" before offering it: the port is listening when offered, and owned by the client', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    const o = options(ports.join(','));
    const listeningWhenOffered: boolean[] = [];
    const c = clientSide(async (port) => (listeningWhenOffered.push(await accepts(port)), true));
    const t = await negotiate(o, c.session, req(0));
    expect(ports).toContain(t.port);
    expect(c.offers).toEqual([t.port]);
    expect(listeningWhenOffered).toEqual([true]);
    expect(o.policy.ownerOf(t.port)).toBe('c1');
  });

  it('offers another port for every one the client rejects, closing and releasing each rejected one', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    const o = options(ports.join(','));
    const c = clientSide(() => c.offers.length >= 3); // rejects the first two offers
    const t = await negotiate(o, c.session, req(0));
    expect(new Set(c.offers).size).toBe(3);
    expect(c.offers.at(-1)).toBe(t.port);
    for (const rejected of c.offers.slice(0, -1)) {
      expect(o.policy.ownerOf(rejected)).toBeUndefined();
      expect(await accepts(rejected)).toBe(false);
    }
  });

  it('skips a port busy on the host for "any", but refuses a requested busy port with side host', async () => {
    const busy = net.createServer();
    const busyPort = await listen(busy);
    const free = await freePort();
    const o = options(`${busyPort},${free}`);
    const c = clientSide(() => true);
    const t = await negotiate(o, c.session, req(0));
    expect(t.port).toBe(free);
    expect(await codeOf(negotiate(options(String(busyPort)), c.session, req(busyPort)))).toEqual({
      code: 'E_PORT_TAKEN',
      details: { side: 'host', port: busyPort },
    });
  });

  it('a requested port the client rejects is E_PORT_TAKEN on side local, and the host lets it go', async () => {
    const port = await freePort();
    const o = options(String(port));
    const c = clientSide(() => false);
    expect(await codeOf(negotiate(o, c.session, req(port)))).toEqual({
      code: 'E_PORT_TAKEN',
      details: { side: 'local', port },
    });
    expect(o.policy.ownerOf(port)).toBeUndefined();
    expect(await accepts(port)).toBe(false);
  });

  it('a client that does not answer the offer frees the port it was offered', async () => {
    const port = await freePort();
    const o = options(String(port));
    const c = clientSide(() => Promise.reject(new P2prcError('E_TIMEOUT', 'client did not answer the offer')));
    expect((await codeOf(negotiate(o, c.session, req(port))))?.code).toBe('E_TIMEOUT');
    expect(o.policy.ownerOf(port)).toBeUndefined();
    expect(await accepts(port)).toBe(false);
  });

  it('refuses ports outside the policy, over the quota, and after running out of candidates', async () => {
    const [a, b] = await Promise.all([freePort(), freePort()]);
    const o = options(String(a), { maxTunnelsPerClient: 1 });
    const c = clientSide(() => true);
    expect((await codeOf(negotiate(o, c.session, req(b))))?.code).toBe('E_PORT_DENIED');
    await negotiate(o, c.session, req(a));
    expect((await codeOf(negotiate(o, c.session, { ...req(0), tunnelId: 'second' })))?.code).toBe('E_QUOTA');
    const none = options(String(b), { maxOffers: 5 });
    expect(await codeOf(negotiate(none, clientSide(() => false).session, req(0)))).toEqual({
      code: 'E_PORT_TAKEN',
      details: { side: 'host' },
    });
  });

  it('gives a reserved port back to its client, but not for another protocol', async () => {
    const port = await freePort();
    const o = options(String(port));
    const c = clientSide(() => true);
    const first = await negotiateTunnel(o, c.session, req(port), { take: () => undefined, takeNamed: () => undefined });
    defer(() => first.close());
    const again = clientSide(() => true);
    const adopted = await negotiate(o, again.session, { ...req(port), tunnelId: 'new-id' }, first);
    expect(adopted).toBe(first);
    expect(adopted.tunnelId).toBe('new-id');
    expect(await codeOf(negotiate(o, again.session, req(port, true, 'udp'), first))).toEqual({
      code: 'E_PORT_TAKEN',
      details: { side: 'host', port },
    });
  });

  it('without matchLocal the bound port is taken without asking the client', async () => {
    const port = await freePort();
    const c = clientSide(() => false);
    const t = await negotiate(options(String(port)), c.session, req(port, false));
    expect(t.port).toBe(port);
    expect(c.offers).toEqual([]);
    expect(await accepts(port)).toBe(true);
  });
});
