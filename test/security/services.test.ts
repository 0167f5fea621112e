import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ServiceVisitor, P2prcError } from '../../src/index.js';
import { ServiceRegistry } from '../../src/services/registry.js';
import { principalOf } from '../../src/services/principal.js';
import type { ClientSession } from '../../src/host/session.js';
import { visitorHandshake, ownerHandshake } from '../../src/services/link.js';
import { Opener, Sealer } from '../../src/services/e2e.js';
import { client, echoServer, host, listen, roundTrip, sha256 } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

const codeOf = async (p: Promise<unknown>) =>
  (
    (await p.then(
      () => undefined,
      (e: unknown) => e,
    )) as P2prcError | undefined
  )?.code;

/** Two ends of a real loopback TCP connection. */
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  const port = await listen(server);
  const accepted = once(server, 'connection');
  const a = net.connect(port, '127.0.0.1');
  const [b] = (await accepted) as [net.Socket];
  await once(a, 'connect').catch(() => undefined);
  defer(() => (a.destroy(), b.destroy()));
  return [a, b];
}

const fakeOwner = (clientId: string, user?: string, principal = `addr:${clientId}`) =>
  ({ clientId, name: clientId, user, principal, acceptVisitor: () => undefined }) as unknown as ClientSession;

// Service IDs stay with their owners; nothing an impostor owner receives lets it test guesses offline;
// the registry cannot be exhausted; the end of a sealed stream is authenticated.
describe('services: ownership, offline guessing, exhaustion', () => {
  it("an offline owner's ID stays bound to its owner key: another token holder gets E_CONFLICT, the owner gets it back after a restart", async () => {
    const h = await host({ tls: false });
    const echo = await echoServer();
    const keyA = randomBytes(32).toString('hex');
    const svc = (ownerKey: string) => [{ id: 'db', secret: 'generated-secret-0123456789', localPort: echo, ownerKey }];
    const first = client(h, { tls: false, tunnels: [], services: svc(keyA) });
    await first.ready;
    await first.close();
    const squatter = client(h, {
      tls: false,
      tunnels: [],
      services: svc(randomBytes(32).toString('hex')),
      exitOnLoginFailure: true,
      maxRetries: 0,
    });
    expect(await codeOf(squatter.ready)).toBe('E_CONFLICT');
    const back = client(h, { tls: false, tunnels: [], services: svc(keyA) });
    await back.ready;
    const v = new ServiceVisitor({
      host: '127.0.0.1',
      port: h.port,
      token: h.token,
      tls: false,
      serviceId: 'db',
      secret: 'generated-secret-0123456789',
      localPort: 0,
    });
    defer(() => v.close());
    await v.start();
    const payload = randomBytes(4096);
    expect((await roundTrip(v.port, payload)).sha).toBe(sha256(payload));
  }, 30_000);

  it("an impostor owner receives nothing computed from the visitor's secret that it could test guesses against", async () => {
    const [visitorSide, impostorSide] = await socketPair();
    const received: Buffer[] = [];
    impostorSide.on('data', (b: Buffer) => received.push(b));
    const impostor = ownerHandshake(impostorSide, 'guess-1', 'db').catch(() => undefined);
    expect(await codeOf(visitorHandshake(visitorSide, 'the-real-secret', 'db'))).toBe('E_SECRET');
    visitorSide.destroy();
    await impostor;
    // sid (16) + one group element (32), a uniformly random point whatever the secret; no proof, no MAC.
    expect(Buffer.concat(received).length).toBe(48);
  });

  it('the right secret on both ends agrees on keys; a wrong one fails on both', async () => {
    const [a, b] = await socketPair();
    const [vk, ok] = await Promise.all([
      visitorHandshake(a, 's3cret-value', 'x'),
      ownerHandshake(b, 's3cret-value', 'x'),
    ]);
    expect(ok).toBeDefined();
    expect(vk.send.equals(ok!.receive) && vk.receive.equals(ok!.send)).toBe(true);
    const [c, d] = await socketPair();
    // The visitor hangs up on a wrong confirmation, as the visitor client does.
    const [vr, or] = await Promise.all([
      codeOf(visitorHandshake(c, 'one', 'x').finally(() => c.destroy())),
      ownerHandshake(d, 'two', 'x'),
    ]);
    expect(vr).toBe('E_SECRET');
    expect(or).toBeUndefined();
  });

  it('a sealed stream cut at a record boundary is an error, not a clean end', () => {
    const key = randomBytes(32);
    const seal = new Sealer(key);
    const data = seal.seal(Buffer.from('hello'));
    const end = seal.end();
    const cut = new Opener(key);
    expect(Buffer.concat(cut.push(data)).toString()).toBe('hello');
    expect(() => cut.end()).toThrow(expect.objectContaining({ code: 'E_CLOSED' }));
    const whole = new Opener(key);
    expect(Buffer.concat(whole.push(Buffer.concat([data, end]))).toString()).toBe('hello');
    expect(() => whole.end()).not.toThrow();
  });

  it('one owner holds a bounded number of IDs; offline IDs expire; the global cap holds', () => {
    let now = 1_000_000;
    const reg = new ServiceRegistry({ maxServices: 5, perPrincipal: 3, offlineTtlMs: 60_000 }, () => now);
    const a = fakeOwner('a');
    for (let i = 0; i < 3; i++) reg.register(a, `a${i}`, '');
    expect(() => reg.register(a, 'a3', '')).toThrow(expect.objectContaining({ code: 'E_QUOTA' }));
    reg.register(a, 'a0', 'again'); // re-registering one's own ID is not a new one
    const b = fakeOwner('b');
    reg.register(b, 'b0', '');
    reg.register(b, 'b1', '');
    expect(() => reg.register(fakeOwner('c'), 'c0', '')).toThrow(expect.objectContaining({ code: 'E_QUOTA' }));
    reg.ownerClosed(a);
    expect(() => reg.register(fakeOwner('c'), 'a1', '')).toThrow(expect.objectContaining({ code: 'E_CONFLICT' }));
    now += 60_001;
    expect(
      reg
        .list()
        .map((s) => s.id)
        .sort(),
    ).toEqual(['b0', 'b1']);
    reg.register(fakeOwner('c'), 'a1', '');
  });

  it('made-up owner keys and client ids do not multiply the quota: it follows the authenticated principal', () => {
    const reg = new ServiceRegistry({ maxServices: 100, perPrincipal: 4 });
    const key = (i: number) => i.toString(16).padStart(64, '0');
    // One token holder at one address, a new client id and owner key per ID.
    const from = (i: number) => fakeOwner(`c${i}`, undefined, principalOf(undefined, `203.0.113.7:${4000 + i}`));
    for (let i = 0; i < 4; i++) reg.register(from(i), `x${i}`, '', key(i));
    const err = (() => {
      try {
        reg.register(from(4), 'x4', '', key(4));
      } catch (e) {
        return e as P2prcError;
      }
    })();
    expect(err?.code).toBe('E_QUOTA');
    expect(err?.message).toContain('address 203.0.113.7');
    // An IPv6 client's whole /64 is one principal; an account is one wherever it comes from.
    const v6 = (i: number) => fakeOwner(`v${i}`, undefined, principalOf(undefined, `[2001:db8:0:1::${i + 1}]:4000`));
    for (let i = 0; i < 4; i++) reg.register(v6(i), `v${i}`, '', key(100 + i));
    expect(() => reg.register(v6(4), 'v4', '', key(104))).toThrow(expect.objectContaining({ code: 'E_QUOTA' }));
    const alice = (i: number) => fakeOwner(`a${i}`, 'alice', principalOf('alice', `198.51.100.${i}:1`));
    for (let i = 0; i < 4; i++) reg.register(alice(i), `a${i}`, '', key(200 + i));
    expect(() => reg.register(alice(4), 'a4', '', key(204))).toThrow(expect.objectContaining({ code: 'E_QUOTA' }));
    // Others still register: the host is far from full.
    reg.register(fakeOwner('b', undefined, principalOf(undefined, '203.0.113.8:1')), 'b0', '', key(300));
    // Re-registering one's own ID is not a new one.
    reg.register(from(5), 'x0', '', key(0));
    expect(() => reg.register(from(6), 'x5', '', key(6))).toThrow(expect.objectContaining({ code: 'E_QUOTA' }));
  });
});
