import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ServiceVisitor, type P2prcError } from '../../src/index.js';
import { GuessThrottle, sourceKey } from '../../src/services/guess-throttle.js';
import { ServiceRegistry } from '../../src/services/registry.js';
import type { ClientSession } from '../../src/host/session.js';
import type net from 'node:net';
import { client, echoServer, host, roundTrip, sha256, until } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

const codeOf = async (p: Promise<unknown>) =>
  (
    (await p.then(
      () => undefined,
      (e: unknown) => e,
    )) as P2prcError | undefined
  )?.code;

// Guessing a service secret is throttled per source and per ID, so no one can try secrets at line rate.
describe('guessing service secrets is throttled', () => {
  it('backs off per source and per ID, doubling, and forgets after a quiet hour (pure)', () => {
    let now = 0;
    const g = new GuessThrottle(
      { freePerSource: 3, freePerId: 5, baseMs: 1_000, maxMs: 8_000, forgetMs: 60_000 },
      () => now,
    );
    for (let i = 0; i < 2; i++) g.failed('10.0.0.1', 'db');
    expect(g.waitMs('10.0.0.1', 'db')).toBe(0);
    expect(g.failed('10.0.0.1', 'db')).toEqual({ source: 3, id: 3 });
    expect(g.waitMs('10.0.0.1', 'db')).toBe(1_000);
    expect(g.waitMs('10.0.0.1', 'other')).toBe(1_000); // the source backs off for every ID
    expect(g.waitMs('10.0.0.2', 'db')).toBe(0); // the ID is not locked yet for others
    now = 1_000;
    g.failed('10.0.0.1', 'db');
    expect(g.waitMs('10.0.0.1', 'x')).toBe(2_000);
    g.failed('10.0.0.3', 'db'); // five for the ID, spread over two sources: the ID backs off too
    expect(g.waitMs('10.0.0.3', 'db')).toBe(1_000); // for a source that failed
    expect(g.waitMs('10.0.0.9', 'db')).toBe(0); // never for one that did not
    for (let i = 0; i < 10; i++) g.failed('10.0.0.1', 'y');
    expect(g.waitMs('10.0.0.1', 'z')).toBe(8_000); // capped
    now += 60_001;
    expect(g.failed('10.0.0.1', 'z').source).toBe(1); // forgotten after a quiet forgetMs
    // An IPv6 host gets a /64: its 2^64 addresses are one source; v4-mapped is the v4 address.
    expect(sourceKey('2001:db8:1:2::5')).toBe(sourceKey('[2001:db8:1:2:ffff::9]'));
    expect(sourceKey('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(sourceKey('::1')).toBe('0:0:0:0::/64');
  });

  it("wrong secrets from 11 sources lock out none of the owner's visitors that did not fail; the ID still holds back failed sources", () => {
    const reg = new ServiceRegistry({ guesses: { baseMs: 600_000 } });
    const accepted: string[] = [];
    const owner = {
      clientId: 'o',
      name: 'o',
      principal: 'addr:10.9.9.9',
      acceptVisitor: (t: { tunnelId: string }) => accepted.push(t.tunnelId),
    } as unknown as ClientSession;
    reg.register(owner, 'db', '');
    const socket = { once: () => undefined, write: () => true } as unknown as net.Socket;
    const visit = (remote: string) => {
      try {
        reg.visit('db', socket, 1, remote);
        return 'ok';
      } catch (err) {
        return (err as P2prcError).code;
      }
    };
    // 55 wrong guesses, five from each of 11 loopback addresses: past the ID's 50.
    for (let a = 2; a <= 12; a++) for (let i = 0; i < 5; i++) reg.guessFailed('db', `127.0.0.${a}:4000${i}`);
    expect(visit('127.0.0.2:1')).toBe('E_QUOTA'); // a guessing source backs off
    expect(visit('127.0.0.1:5000')).toBe('ok'); // the owner's visitor never failed: it gets in
    expect(visit('[2001:db8::1]:5000')).toBe('ok');
    reg.guessFailed('db', '127.0.0.13:1'); // a new source's first wrong guess...
    expect(visit('127.0.0.13:2')).toBe('E_QUOTA'); // ...is its last while the ID backs off
    expect(accepted).toEqual(['svc:db', 'svc:db']);
  });

  it('a real host refuses a source after five wrong secrets (E_QUOTA) while the right secret from another source gets through', async () => {
    // Bound to :: so visitors can come from two loopback sources, 127.0.0.1 and ::1.
    const h = await host({ bind: '::', tls: false, serviceGuesses: { baseMs: 600_000 } });
    const failures: string[] = [];
    h.host.on('log', (l) => l.message.startsWith('wrong secret for service db') && failures.push(l.message));
    const echo = await echoServer();
    const secret = 'generated-secret-0123456789';
    await client(h, { tls: false, tunnels: [], services: [{ id: 'db', secret, localPort: echo }] }).ready;
    const visit = (from: string, guess: string) => {
      const v = new ServiceVisitor({
        host: from,
        port: h.port,
        token: h.token,
        tls: false,
        serviceId: 'db',
        secret: guess,
        localPort: 0,
        direct: 'off',
      });
      defer(() => v.close());
      return v;
    };
    for (let i = 1; i <= 5; i++) {
      expect(await codeOf(visit('127.0.0.1', `guess-${i}`).start())).toBe('E_SECRET');
      // The owner reports each failure after the visitor hung up: wait for the host to count it.
      await until(() => failures.length === i, 10_000, `failure ${i} counted`);
    }
    expect(failures[4]).toContain('5 from this source');
    expect(await codeOf(visit('127.0.0.1', 'guess-6').start())).toBe('E_QUOTA');
    expect(await codeOf(visit('127.0.0.1', secret).start())).toBe('E_QUOTA'); // even the right one, until the backoff ends
    const other = visit('::1', secret);
    await other.start();
    const payload = randomBytes(2048);
    expect((await roundTrip(other.port, payload)).sha).toBe(sha256(payload));
    expect(failures).toHaveLength(5); // the refused attempts never reached the owner
  }, 60_000);
});
