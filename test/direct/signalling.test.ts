import { describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ServiceVisitor, P2prcError } from '../../src/index.js';
import type { ServiceRegistry } from '../../src/services/registry.js';
import type { PathState } from '../../src/direct/visit.js';
import { client, echoServer, host, roundTrip, sha256 } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

const SECRET = 'direct path secret';
// Loopback only: both peers gather candidates on 127.0.0.1 (the NAT bed tests real NATs).
const BIND = '127.0.0.1';

const OWNER_KEY = randomBytes(32).toString('hex');

async function setup() {
  const h = await host({ tls: false });
  const echo = await echoServer();
  const owner = client(h, {
    tls: false,
    tunnels: [],
    directBind: BIND,
    services: [{ id: 'svc', secret: SECRET, localPort: echo, ownerKey: OWNER_KEY }],
  });
  await owner.ready;
  const access = { host: '127.0.0.1', port: h.port, token: h.token, tls: false, directBind: BIND };
  return { h, access, owner, echo };
}

/** The next path change of `v` that satisfies `kind`, bounded. */
function nextPath(v: ServiceVisitor, kind: PathState['kind'], timeoutMs: number): Promise<PathState> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => (v.off('path', on), reject(new Error(`no ${kind} path within ${timeoutMs} ms`))),
      timeoutMs,
    );
    const on = (p: PathState) => {
      if (p.kind !== kind) return;
      clearTimeout(timer);
      v.off('path', on);
      resolve(p);
    };
    v.on('path', on);
  });
}

function visitor(access: object, direct: 'auto' | 'only' = 'auto'): ServiceVisitor {
  const v = new ServiceVisitor({
    ...(access as { host: string; token: string }),
    serviceId: 'svc',
    secret: SECRET,
    localPort: 0,
    direct,
  });
  defer(() => v.close());
  return v;
}

/** Plays a host that rewrites the signalling it routes (what the MACs must catch). */
function tamperSignals(registry: ServiceRegistry, rewrite: (type: string, sdp: string) => string): void {
  const original = registry.signal.bind(registry);
  registry.signal = (from, m, mayVisit) => {
    if (m.type === 'DirectOffer' || m.type === 'DirectAnswer')
      m = { ...m, body: { ...m.body, sdp: rewrite(m.type, m.body.sdp) } } as typeof m;
    original(from, m, mayVisit);
  };
}

/** A UDP socket standing for the attacker: the tampered candidate points here. */
async function attacker(): Promise<{ port: number; received: () => number }> {
  const s = dgram.createSocket('udp4');
  let n = 0;
  s.on('message', () => n++);
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  defer(() => new Promise((r) => s.close(() => r(undefined))));
  return { port: s.address().port, received: () => n };
}

describe("direct path through the host's signalling (loopback)", () => {
  it('goes direct, moves 16 MiB with no service bytes on the host, and keeps working after the host stops', async () => {
    const { h, access } = await setup();
    const v = visitor(access);
    await v.start();
    expect(v.path).toEqual({ kind: 'direct', peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    const payload = randomBytes(16 * 1024 * 1024);
    expect((await roundTrip(v.port, payload)).sha).toBe(sha256(payload));
    const rounds = await Promise.all(
      Array.from({ length: 20 }, (_, i) => roundTrip(v.port, Buffer.from(`conn ${i}`.repeat(100)))),
    );
    rounds.forEach((r, i) => expect(r.sha).toBe(sha256(Buffer.from(`conn ${i}`.repeat(100)))));
    // The host relayed only the CPace handshake that keyed the signalling (under 1 KB), no service bytes.
    const [relayed] = h.host.services.relayed();
    expect(relayed).toMatchObject({ id: 'svc', activeVisits: 0 });
    expect(relayed!.relayedBytes).toBeLessThan(1_024);
    await h.close();
    const after = Buffer.from('new connection, host gone');
    expect((await roundTrip(v.port, after)).sha).toBe(sha256(after));
  }, 60_000);

  it('a dead direct path turns relayed at once and is re-established without a restart', async () => {
    const { h, access, owner, echo } = await setup();
    const v = visitor(access);
    await v.start();
    expect(v.path.kind).toBe('direct');
    const lost = nextPath(v, 'relayed', 15_000);
    await owner.close(); // its peer links go with it
    expect(await lost).toMatchObject({ kind: 'relayed', reason: expect.stringContaining('direct path lost') });
    const back = nextPath(v, 'direct', 30_000);
    // The same owner key: a service ID stays bound to its owner across disconnects, so no other token holder can take it over.
    await client(h, {
      tls: false,
      tunnels: [],
      directBind: BIND,
      services: [{ id: 'svc', secret: SECRET, localPort: echo, ownerKey: OWNER_KEY }],
    }).ready;
    await back;
    const msg = randomBytes(1_000_000);
    expect((await roundTrip(v.port, msg)).sha).toBe(sha256(msg));
    expect(h.host.services.relayed()[0]!.relayedBytes).toBeLessThan(1_024);
  }, 60_000);

  it('a host that swaps a candidate in the offer gets the direct path refused; the relay carries the visit', async () => {
    const { h, access } = await setup();
    const evil = await attacker();
    let swapped = 0;
    tamperSignals(h.host.services, (type, sdp) => {
      if (type !== 'DirectOffer') return sdp;
      swapped++;
      return sdp.replace(/(a=candidate:\S+ \d+ UDP \d+) \S+ \d+/g, `$1 127.0.0.1 ${evil.port}`);
    });
    const v = visitor(access);
    await v.start();
    expect(swapped).toBe(1);
    expect(v.path.kind).toBe('relayed');
    expect(v.path.kind === 'relayed' && v.path.reason).toMatch(/^E_AUTH: /);
    const msg = randomBytes(100_000);
    expect((await roundTrip(v.port, msg)).sha).toBe(sha256(msg));
    expect(h.host.services.relayed()[0]!.relayedBytes).toBeGreaterThan(100_000);
    expect(evil.received()).toBe(0);
  }, 30_000);

  it('a swapped fingerprint in the answer: refused by the visitor; with direct only, E_NO_DIRECT', async () => {
    const { h, access } = await setup();
    tamperSignals(h.host.services, (type, sdp) =>
      type === 'DirectAnswer'
        ? sdp.replace(/a=fingerprint:sha-256 \S+/, `a=fingerprint:sha-256 ${'AB:'.repeat(31)}AB`)
        : sdp,
    );
    const err = await visitor(access, 'only')
      .start()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(P2prcError);
    expect((err as P2prcError).code).toBe('E_NO_DIRECT');
    expect((err as P2prcError).message).toContain('E_AUTH');
    const v = visitor(access);
    await v.start();
    expect(v.path.kind).toBe('relayed');
  }, 30_000);
});
