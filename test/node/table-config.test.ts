import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { runPlainNode } from '../../src/node/plain.js';
import { ipTablePath } from '../../src/store/index.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir, defer } = useWorkspace();

// A plain node (`p2prc -s`) never runs ensureConfigDir, yet it writes the table P2PRC's Go reads.
describe('a node saving its table', () => {
  it("gives config.json the IPTable key P2PRC's Go finds the table by", async () => {
    const dir = tempDir('table-config');
    const node = await runPlainNode({
      configDir: dir,
      port: 0,
      bind: '127.0.0.1',
      bootstrap: [],
      exchangeIntervalMs: 60_000,
    });
    defer(() => node.close());
    const [file] = (await once(node.exchange, 'saved', { signal: AbortSignal.timeout(10_000) })) as [string];
    expect(file).toBe(ipTablePath(dir));
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toEqual({ IPTable: file, ServerPort: '8088' });
  });
});
