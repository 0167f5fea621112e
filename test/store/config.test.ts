import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openConfig } from '../../src/store/config.js';

// config.json is checked by src/store/config-schema.ts through conf's serialize and deserialize, not by
// ajv: these hold that it is still checked on every read and every write.
describe('config.json is validated against its schema', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'p2prc-config-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('opens a valid file and keeps its values', async () => {
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ controlPort: 7000, refusals: { 'h:1': 't' } }));
    const config = await openConfig(dir);
    expect(config.get('controlPort')).toBe(7000);
    expect(config.get('refusals')).toEqual({ 'h:1': 't' });
  });

  it("keeps keys it does not know (P2PRC's Go writes its own there) across its writes", async () => {
    const go = { MachineName: 'node-x', IPTable: '/x/ip_table.json', BehindNAT: true, CustomConfig: null };
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(go));
    (await openConfig(dir)).set('controlPort', 7001);
    expect(JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'))).toEqual({ ...go, controlPort: 7001 });
  });

  it('refuses a file whose values break the schema with E_CONFIG', async () => {
    for (const bad of [
      { controlPort: 'seven' },
      { controlPort: 70000 },
      { token: '' },
      { hostTokens: { 'h:1': 5 } },
      { preferredHosts: 'h:1' },
    ]) {
      await writeFile(path.join(dir, 'config.json'), JSON.stringify(bad));
      await expect(openConfig(dir), JSON.stringify(bad)).rejects.toMatchObject({ code: 'E_CONFIG' });
    }
  });

  it('refuses to write a value that breaks the schema', async () => {
    const config = await openConfig(dir);
    expect(() => config.set('controlPort', 0)).toThrow();
    expect(config.get('controlPort')).toBeUndefined();
  });
});
