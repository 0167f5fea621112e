import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { connect } from '../../src/index.js';
import { rankHosts } from '../../src/modes/choose-host.js';
import { startDiscovery } from '../../src/node/discovery.js';
import { selfEntry } from '../../src/node/iptable.js';
import { RecordStore, MAX_PEER_SERVERS, updateSecrets, type ServerRecord } from '../../src/store/index.js';
import { mergePeerServer } from '../../src/store/peer-records.js';
import { cleanup, defer, host, listen, until } from '../helpers/engine.js';

afterEach(cleanup);

const FP_EVIL = 'EE:'.repeat(31) + 'EE';

async function configDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'p2prc-poison-'));
  defer(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A peer whose IP table advertises whatever proxies it likes. */
async function evilPeer(
  proxies: Array<{ port: number; fingerprint: string; open?: boolean; token?: string }>,
): Promise<number> {
  const table = {
    ip_address: proxies.map((p, i) => ({
      Name: `evil-${i}`,
      IPV4: '127.0.0.1',
      ServerPort: String(40000 + i),
      ProxyServer: true,
      ReverseProxy: {
        ControlPort: p.port,
        Fingerprint: p.fingerprint,
        Tls: true,
        Engine: 'native',
        Open: p.open ?? false,
        Token: p.token,
        Version: 'x',
      },
    })),
  };
  return listen(http.createServer((_req, res) => res.end(JSON.stringify(table))));
}

function rec(port: number, extra: Partial<ServerRecord> = {}): ServerRecord {
  const now = new Date(Date.now() - port).toISOString();
  return {
    id: `127.0.0.1:${port}`,
    address: '127.0.0.1',
    controlPort: port,
    fingerprint: null,
    tls: true,
    version: null,
    engine: 'native',
    source: 'http://peer',
    firstSeen: now,
    lastSeen: now,
    ...extra,
  };
}

// A peer's IP table must not overwrite known hosts, or it could steer configured tokens to its own host.
describe('discovery poisoning', () => {
  it('peers never change an operator or pinned record; another fingerprint for a known address is a separate record; peer records are capped', () => {
    const mine = rec(1, { source: 'local', fingerprint: 'AA' });
    const servers = [mine];
    const snapshot = structuredClone(servers);
    expect(mergePeerServer(servers, rec(1, { fingerprint: FP_EVIL, open: true, token: 'evil' }), false)).toBe(
      'ignored',
    );
    expect(servers).toEqual(snapshot);
    const learned: ServerRecord[] = [rec(2, { fingerprint: 'BB', peer: true })];
    expect(mergePeerServer(learned, rec(2, { fingerprint: 'BB', tls: false }), true)).toBe('ignored');
    expect(mergePeerServer(learned, rec(2, { fingerprint: 'BB', version: '2' }), false)).toBe('updated');
    expect(mergePeerServer(learned, rec(2, { fingerprint: FP_EVIL }), false)).toBe('added');
    expect(learned.map((s) => s.fingerprint)).toEqual(['BB', FP_EVIL]);
    expect(new Set(learned.map((s) => s.id)).size).toBe(2);
    const many: ServerRecord[] = [mine];
    for (let p = 10; p < 10 + MAX_PEER_SERVERS + 50; p++) mergePeerServer(many, rec(p), false);
    expect(many.length).toBe(MAX_PEER_SERVERS + 1);
    expect(many).toContain(mine);
  });

  it('a peer cannot overwrite a known host; its own host is offered the configured token only through the PAKE, and comes second', async () => {
    const dir = await configDir();
    const real = await host({ tls: true, token: 'operator-token' });
    const attacker = await host({ tls: true, token: 'attacker-token' });
    const key = `127.0.0.1:${real.port}`;
    const store = new RecordStore(dir);
    const now = new Date().toISOString();
    await store.upsertServer({
      id: key,
      address: '127.0.0.1',
      controlPort: real.port,
      fingerprint: real.fingerprint!,
      tls: true,
      version: null,
      engine: 'native',
      source: 'local',
      firstSeen: now,
      lastSeen: now,
    });
    await updateSecrets(dir, (secrets) => void (secrets.fingerprints = { [key]: real.fingerprint! }));
    const before = await store.readServers();
    const peer = await evilPeer([
      { port: real.port, fingerprint: FP_EVIL, open: true, token: 'evil' },
      { port: attacker.port, fingerprint: attacker.fingerprint!, open: true, token: 'attacker-token' },
    ]);
    const exchange = startDiscovery({
      configDir: dir,
      self: () => selfEntry({ serverPort: 1 }),
      bootstrap: [`127.0.0.1:${peer}`],
      intervalMs: 100,
    });
    defer(() => exchange.stop());
    await until(
      async () => (await store.readServers()).some((s) => s.controlPort === attacker.port),
      10_000,
      'the peer-advertised host',
    );
    await exchange.stop();
    const after = await store.readServers();
    expect(after.filter((s) => s.controlPort === real.port)).toEqual(before);

    // The peer's own host may be tried with my token (the PAKE gives it one online guess and nothing
    // to test offline), after the host I know; its advertised token is not used.
    const plain = await rankHosts(dir, 'operator-token', 2_000);
    expect(plain.ranked.map((c) => [c.port, c.token])).toEqual([
      [real.port, 'operator-token'],
      [attacker.port, 'operator-token'],
    ]);
    const tried = connect({
      host: '127.0.0.1',
      port: attacker.port,
      token: 'operator-token',
      fingerprint: attacker.fingerprint!,
      tunnels: [{ name: 'x', localPort: 1 }],
      exitOnLoginFailure: true,
    });
    defer(() => tried.close());
    await expect(tried.ready).rejects.toMatchObject({
      code: 'E_AUTH',
      message: expect.stringContaining('wrong token'),
    });
    // Opted in: the open host is used with its own advertised token, never mine.
    const optIn = await rankHosts(dir, 'operator-token', 2_000, [], { acceptPeerTokens: true });
    expect(optIn.ranked.find((c) => c.port === attacker.port)?.token).toBe('attacker-token');
  }, 30_000);
});
