import { beforeEach, describe, expect, it } from 'vitest';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { RecordStore, validateMappingsFile, validateServersFile, type MappingRecord } from '../../src/store/index.js';
import { isP2prcError } from '../../src/errors.js';
import { useWorkspace } from '../helpers/workspace.js';

const WRITER = path.resolve(import.meta.dirname, '..', 'fixtures', 'store-writer.mjs');
const { tempDir, track } = useWorkspace();
let dir: string;
beforeEach(() => {
  dir = tempDir('store');
});

const now = new Date().toISOString();
const mapping = (id: string, extra: Partial<MappingRecord> = {}): MappingRecord => ({
  id,
  name: 'node',
  kind: 'tunnel',
  protocol: 'tcp',
  engine: 'native',
  localHost: '127.0.0.1',
  localPort: 8088,
  publicHost: '127.0.0.1',
  publicPort: 20000,
  proxyHost: '127.0.0.1',
  proxyControlPort: 7000,
  pid: process.pid,
  createdAt: now,
  updatedAt: now,
  status: 'active',
  ...extra,
});

describe('record schemas', () => {
  it('accepts the shipped example file', async () => {
    const example = JSON.parse(
      await readFile(path.resolve(import.meta.dirname, '..', '..', 'reverse_proxy_server.example.json'), 'utf8'),
    );
    expect(validateServersFile(example)).toBeUndefined();
    expect(example.servers.length).toBeGreaterThan(0);
  });

  it.each([
    [{ version: 2, mappings: [] }, /version/],
    [{ version: 1 }, /mappings/],
    [{ version: 1, mappings: [{ ...mapping('a'), localPort: 70000 }] }, /localPort/],
    [{ version: 1, mappings: [{ ...mapping('a'), status: 'maybe' }] }, /status/],
    [{ version: 1, mappings: [{ ...mapping('a'), createdAt: 'yesterday' }] }, /createdAt/],
    [[], /object/],
  ])('rejects %j', (file, problem) => {
    expect(validateMappingsFile(file)).toMatch(problem);
  });
});

describe('RecordStore', () => {
  it('keeps unknown fields, at the top level and per entry, across rewrites', async () => {
    const store = new RecordStore(dir);
    await writeFile(
      store.mappingsPath,
      JSON.stringify({ version: 1, comment: 'mine', mappings: [{ ...mapping('a'), note: 'keep me' }] }),
    );
    await store.upsertMapping(mapping('b'));
    await store.updateMapping('a', { status: 'closed' });
    const file = JSON.parse(await readFile(store.mappingsPath, 'utf8'));
    expect(file.comment).toBe('mine');
    expect(file.mappings[0]).toMatchObject({ id: 'a', note: 'keep me', status: 'closed' });
    expect(file.mappings).toHaveLength(2);
  });

  it('merges servers by address and port, keeping firstSeen', async () => {
    const store = new RecordStore(dir);
    const base = {
      id: 'h',
      address: '127.0.0.1',
      controlPort: 7000,
      fingerprint: null,
      tls: false,
      version: null,
      engine: 'native' as const,
      source: 'local',
      firstSeen: '2026-01-01T00:00:00.000Z',
      lastSeen: '2026-01-01T00:00:00.000Z',
    };
    await store.upsertServer(base);
    await store.upsertServer({ ...base, firstSeen: now, lastSeen: now, version: '0.1.0' });
    expect(await store.readServers()).toEqual([{ ...base, lastSeen: now, version: '0.1.0' }]);
  });

  it('reports a corrupt file with its path, leaves it byte-identical, and repair moves it aside', async () => {
    const store = new RecordStore(dir);
    await writeFile(store.mappingsPath, '{"version":1,"mappings":[}');
    for (const op of [() => store.readMappings(), () => store.upsertMapping(mapping('x'))]) {
      const err = await op().catch((e: unknown) => e);
      expect(isP2prcError(err, 'E_CONFIG')).toBe(true);
      expect((err as Error).message).toContain(store.mappingsPath);
    }
    expect(await readFile(store.mappingsPath, 'utf8')).toBe('{"version":1,"mappings":[}');
    const aside = await store.repair('mappings');
    expect(aside).toMatch(/reverse_proxy_mapping\.json\.corrupt-/);
    expect(await readFile(aside!, 'utf8')).toBe('{"version":1,"mappings":[}');
    expect(await store.readMappings()).toEqual([]);
  });

  it('loses nothing when 50 processes register at once', async () => {
    const children = Array.from({ length: 50 }, (_, i) =>
      track(fork(WRITER, [dir, 'once', String(i)], { stdio: 'ignore' })),
    );
    const codes = await Promise.all(children.map(async (c) => (await once(c, 'exit'))[0]));
    expect(codes.every((c) => c === 0)).toBe(true);
    const mappings = await new RecordStore(dir).readMappings();
    expect(new Set(mappings.map((m) => m.id)).size).toBe(50);
    expect(
      (await readdir(dir)).filter(
        (f) => f.endsWith('.tmp') || f.endsWith('.lock') || f.endsWith('.new') || f.endsWith('.stale'),
      ),
    ).toEqual([]);
  }, 120_000);

  it('leaves a valid file when a writer is killed mid-write', async () => {
    const store = new RecordStore(dir);
    await store.upsertMapping(mapping('seed'));
    for (let round = 0; round < 5; round++) {
      const child = track(fork(WRITER, [dir, 'loop', String(round)], { stdio: 'ignore' }));
      // after a few completed writes, kill it wherever it is in the next one
      await new Promise<void>((resolve) => child.on('message', (n) => Number(n) >= round * 3 && resolve()));
      child.kill('SIGKILL');
      await once(child, 'exit');
      const mappings = await store.readMappings(); // throws E_CONFIG if the file were torn
      expect(mappings.some((m) => m.id === 'seed')).toBe(true);
    }
    // a lock left by the killed writer is broken because its owner is dead
    await store.upsertMapping(mapping('after'));
    expect((await store.readMappings()).some((m) => m.id === 'after')).toBe(true);
  }, 60_000);
});
