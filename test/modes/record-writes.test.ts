import { beforeEach, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  RecordStore,
  isP2prcError,
  runHostService,
  runNodeService,
  startHost,
  type HostService,
  type NodeService,
} from '../../src/index.js';
import { until } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

// A record write that fails while a command keeps running is reported, never swallowed: a warning line
// with the code and the file. The failure is real: the mapping file is corrupted on disk mid-run.
const { tempDir, defer } = useWorkspace();
let dir: string;
beforeEach(() => {
  dir = tempDir('records');
});

const CORRUPT = '{"version": 1, "mappings": [ not json';

/** Resolves with the first line `lines` receives that passes `test`; rejects after timeoutMs. */
function firstLine(
  subscribe: (push: (line: string) => void) => void,
  test: (line: string) => boolean,
  timeoutMs = 15_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout waiting for the warning line')), timeoutMs);
    subscribe((line) => {
      if (!test(line)) return;
      clearTimeout(timer);
      resolve(line);
    });
  });
}

describe('record-write failures', () => {
  it('node service: a republish whose mapping write fails prints a warning with E_CONFIG and the file; close then fails with the code', async () => {
    const stateDir = path.join(dir, 'host-state');
    const configDir = path.join(dir, 'client');
    const first = await startHost({ controlPort: 0, bind: '127.0.0.1', stateDir, heartbeatMs: 500 });
    defer(() => first.close());
    const status: Array<(line: string) => void> = [];
    const service: NodeService = await runNodeService({
      configDir,
      proxy: { host: '127.0.0.1', port: first.port },
      token: first.token,
      fingerprint: first.fingerprint,
      onStatus: (line) => status.forEach((f) => f(line)),
    });
    let closed = false;
    defer(() => (closed ? undefined : service.close()));
    const store = new RecordStore(configDir);
    expect((await store.readMappings()).map((m) => m.name)).toEqual(['node']);

    await writeFile(store.mappingsPath, CORRUPT);
    const warning = firstLine(
      (push) => status.push(push),
      (l) => l.startsWith('warning: cannot record'),
    );
    await first.close();
    const second = await startHost({ controlPort: first.port, bind: '127.0.0.1', stateDir, heartbeatMs: 500 });
    defer(() => second.close());
    const line = await warning;
    expect(line).toContain(`tunnel node in ${store.mappingsPath}: E_CONFIG:`);

    // Closing must mark the tunnel closed in that same file: it cannot, and says so with the code.
    const err = await service.close().then(
      () => undefined,
      (e: unknown) => e,
    );
    closed = true;
    expect(isP2prcError(err, 'E_CONFIG')).toBe(true);
    expect(await readFile(store.mappingsPath, 'utf8')).toBe(CORRUPT); // reported, never overwritten
  });

  // A lost frp client keeps its port for the grace period; the close is recorded when that ends.
  it('host service: an frp-wire tunnel whose close cannot be recorded gives a warn log line with E_CONFIG and the file', async () => {
    const host: HostService = await runHostService({
      configDir: path.join(dir, 'host'),
      controlPort: 0,
      bind: '127.0.0.1',
      tls: false,
      noNodeServer: true,
      graceMs: 200,
    });
    defer(() => host.close());
    const warnings: Array<(line: string) => void> = [];
    host.handle.logs.on('log', (l) => l.level === 'warn' && warnings.forEach((f) => f(l.message)));
    const client = await runNodeService({
      configDir: path.join(dir, 'client'),
      proxy: { host: '127.0.0.1', port: host.handle.port },
      token: host.handle.token,
      protocol: 'frp',
      tls: false,
    });
    defer(() => client.close());
    const store = new RecordStore(path.join(dir, 'host'));
    await until(
      async () => (await store.readMappings()).some((m) => m.engine === 'frp-wire' && m.status === 'active'),
      10_000,
      'frp-wire tunnel recorded',
    );

    await writeFile(store.mappingsPath, CORRUPT);
    const warning = firstLine(
      (push) => warnings.push(push),
      (l) => l.startsWith('cannot record the close of frp tunnel'),
    );
    await client.close();
    expect(await warning).toMatch(
      new RegExp(
        `^cannot record the close of frp tunnel \\S+ in ${store.mappingsPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: E_CONFIG: `,
      ),
    );
    expect(await readFile(store.mappingsPath, 'utf8')).toBe(CORRUPT);
  });
});

describe('stock frpc tunnels on a host', () => {
  it("a proxy with no name (P2PRC's Go client sends none) is recorded under one the host makes up", async () => {
    const { FrpWireClient } = await import('../../src/frp-wire/client/client.js');
    const configDir = path.join(dir, 'host');
    const host: HostService = await runHostService({
      configDir,
      controlPort: 0,
      bind: '127.0.0.1',
      tls: false,
      noNodeServer: true,
      graceMs: 200,
    });
    defer(() => host.close());
    const warnings: string[] = [];
    host.handle.logs.on('log', (l) => l.level === 'warn' && warnings.push(l.message));
    const client = new FrpWireClient({
      host: '127.0.0.1',
      port: host.handle.port,
      token: host.handle.token,
      tcpMux: true,
      tls: false,
      tunnels: [{ name: '', localHost: '127.0.0.1', localPort: 9, remotePort: 0 }],
    });
    defer(() => client.close());
    await client.start();
    const store = new RecordStore(configDir);
    await until(async () => (await store.readMappings()).length === 1, 5_000, 'the tunnel recorded');
    const [record] = await store.readMappings();
    expect(record).toMatchObject({ name: `frp-${record!.publicPort}`, engine: 'frp-wire', status: 'active' });
    expect(record!.publicPort).toBeGreaterThan(0);
    expect(warnings.filter((w) => /name is missing/.test(w))).toEqual([]);
    // Its close is recorded too (and finishes writing before the directory is removed).
    client.close();
    await until(async () => (await store.readMappings())[0]?.status === 'closed', 10_000, 'the close recorded');
  });
});
