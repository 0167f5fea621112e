import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { P2prcError } from '../../src/errors.js';
import { ensureConfigDir, ipTablePath, readSecrets } from '../../src/store/index.js';

// config.json carries the keys P2PRC's Go reads (config/config.go) when p2prc makes a config dir ready.
let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'p2prc-gokeys-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

const configOf = async (dir: string) =>
  JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;

describe('ensureConfigDir and the keys P2PRC reads', () => {
  it('a directory it creates gets IPTable (the absolute path of the table p2prc uses) and ServerPort, 0600', async () => {
    const dir = path.join(root, 'new', 'p2prc');
    await ensureConfigDir(dir);
    expect(await configOf(dir)).toEqual({ IPTable: ipTablePath(dir), ServerPort: '8088' });
    expect(path.isAbsolute(ipTablePath(dir))).toBe(true);
    expect((await stat(path.join(dir, 'config.json'))).mode & 0o777).toBe(0o600);
  });

  it('values Go or the user wrote stay, and a complete file is not rewritten', async () => {
    const file = path.join(root, 'config.json');
    const text = JSON.stringify({ IPTable: '/elsewhere/ip_table.json', ServerPort: '9000', MachineName: 'go' });
    await writeFile(file, text, { mode: 0o600 });
    await ensureConfigDir(root);
    expect(await readFile(file, 'utf8')).toBe(text);
    await writeFile(file, JSON.stringify({ IPTable: '', MachineName: 'go' }), { mode: 0o600 });
    await ensureConfigDir(root);
    expect(await configOf(root)).toEqual({ IPTable: ipTablePath(root), ServerPort: '8088', MachineName: 'go' });
  });

  it('moves the secrets an older p2prc left in config.json, even when no key is missing', async () => {
    const go = { IPTable: ipTablePath(root), ServerPort: '8088' };
    await writeFile(
      path.join(root, 'config.json'),
      JSON.stringify({ ...go, token: 'old', hostTokens: { 'h:1': 't' } }),
    );
    await ensureConfigDir(root);
    expect(await configOf(root)).toEqual(go);
    expect(await readSecrets(root)).toEqual({ token: 'old', hostTokens: { 'h:1': 't' } });
  });

  it('an invalid config.json is E_CONFIG naming it, left as it was', async () => {
    const file = path.join(root, 'config.json');
    for (const bad of ['{"IPTable": ', JSON.stringify({ controlPort: 'seven' })]) {
      await writeFile(file, bad);
      const err = await ensureConfigDir(root).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(P2prcError);
      expect((err as P2prcError).code).toBe('E_CONFIG');
      expect((err as P2prcError).details.path).toBe(file);
      expect(await readFile(file, 'utf8')).toBe(bad);
    }
  });
});
