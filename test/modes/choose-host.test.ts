import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { rankHosts, rememberRefusal } from '../../src/modes/choose-host.js';
import { RecordStore, updateSecrets, type ServerRecord } from '../../src/store/index.js';
import { cleanup, defer, freePort, host } from '../helpers/engine.js';

afterEach(cleanup);

async function configDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'p2prc-choose-'));
  defer(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function record(port: number, extra: Partial<ServerRecord> = {}): ServerRecord {
  const now = new Date().toISOString();
  return {
    id: `127.0.0.1:${port}`,
    address: '127.0.0.1',
    controlPort: port,
    fingerprint: null,
    tls: false,
    version: null,
    engine: 'native',
    source: 'test',
    firstSeen: now,
    lastSeen: now,
    ...extra,
  };
}

/** The port each skip line names ("127.0.0.1:<port>: <why>"). */
const skippedPorts = (skipped: string[]) =>
  skipped.map((s) => Number(/^127\.0\.0\.1:(\d+): /.exec(s)?.[1])).sort((a, b) => a - b);

describe('automatic host choice', () => {
  it('ranks reachable accepting hosts first, full ones after, and says why it skipped each other one', async () => {
    const dir = await configDir();
    const [open, full] = [await host({ tls: false }), await host({ tls: false })];
    const [frp, down, noToken, refused] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      (await host({ tls: false })).port,
    ]);
    const store = new RecordStore(dir);
    await store.upsertServer(record(full.port, { acceptsClients: false, clients: 3, freePorts: 10 }));
    await store.upsertServer(record(open.port, { acceptsClients: true, clients: 0, freePorts: 100 }));
    await store.upsertServer(record(frp, { engine: 'frp' }));
    await store.upsertServer(record(down));
    await store.upsertServer(record(noToken));
    await store.upsertServer(record(refused));
    await updateSecrets(dir, (secrets) => {
      secrets.hostTokens = {
        [`127.0.0.1:${open.port}`]: open.token,
        [`127.0.0.1:${full.port}`]: full.token,
        [`127.0.0.1:${down}`]: 'x',
        [`127.0.0.1:${refused}`]: 'x',
        [`127.0.0.1:${frp}`]: 'x',
      };
    });
    await rememberRefusal(dir, '127.0.0.1', refused);

    const { ranked, skipped } = await rankHosts(dir, undefined, 2_000);
    expect(ranked.map((c) => [c.port, c.token])).toEqual([
      [open.port, open.token],
      [full.port, full.token],
    ]);
    expect(ranked[1]!.reason).toContain('full');
    expect(skippedPorts(skipped)).toEqual([frp, down, noToken, refused].sort((a, b) => a - b));
    expect(skipped.find((s) => s.startsWith(`127.0.0.1:${down}: `))).toMatch(
      /^127\.0\.0\.1:\d+: down \(E_UNREACHABLE: /,
    );
  });

  it('an explicit token reaches restricted hosts; excluded hosts are neither ranked nor reported', async () => {
    const dir = await configDir();
    const a = await host({ tls: false, token: 'shared-token' });
    const b = await host({ tls: false, token: 'shared-token' });
    const store = new RecordStore(dir);
    await store.upsertServer(record(a.port));
    await store.upsertServer(record(b.port));
    const { ranked, skipped } = await rankHosts(dir, 'shared-token', 2_000, [`127.0.0.1:${a.port}`]);
    expect(ranked.map((c) => [c.port, c.token])).toEqual([[b.port, 'shared-token']]);
    expect(skipped).toEqual([]);
    const none = await rankHosts(dir, undefined, 2_000);
    expect(none.ranked).toEqual([]);
    expect(skippedPorts(none.skipped)).toEqual([a.port, b.port].sort((x, y) => x - y));
  });

  it('one refusal from an address stands for the other ports a peer advertised on it', async () => {
    const dir = await configDir();
    const [a, b, mine] = [await host({ tls: false }), await host({ tls: false }), await host({ tls: false })];
    const store = new RecordStore(dir);
    for (const port of [a.port, b.port])
      expect(await store.upsertPeerServer(record(port, { peer: true, source: '127.0.0.1:9' }), () => false)).toBe(
        'added',
      );
    await store.upsertServer(record(mine.port));
    await rememberRefusal(dir, '127.0.0.1', a.port);
    const { ranked, skipped } = await rankHosts(dir, 'some-token', 2_000);
    // The operator's own record on that address is still tried; the peer's other port is not.
    expect(ranked.map((c) => c.port)).toEqual([mine.port]);
    expect(skipped.find((s) => s.startsWith(`127.0.0.1:${b.port}: `))).toMatch(/same address refused us/);
  });
});
