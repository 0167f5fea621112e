import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmod, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { P2prcError } from '../../src/errors.js';
import {
  openConfig,
  readSecrets,
  secretsPath,
  updateConfig,
  updateSecrets,
  type P2prcSecrets,
} from '../../src/store/index.js';

// Tokens and pins live in secrets.json, written only through private-file.ts; config.json (conf) holds
// settings. A config.json from before still works, and gives its secrets up on the next write.
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'p2prc-secrets-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const json = async (name: string) =>
  JSON.parse(await readFile(path.join(dir, name), 'utf8')) as Record<string, unknown>;
const mode = async (name: string) => (await stat(path.join(dir, name))).mode & 0o777;
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => (e instanceof P2prcError ? { code: e.code, path: e.details.path } : e),
  );

const OLD: P2prcSecrets = {
  token: 'old-global',
  hostTokens: { 'h:1': 'old-h1' },
  fingerprints: { 'h:1': 'AA' },
  trustedFingerprints: ['BB'],
};

describe('secrets.json', () => {
  it('is written 0600 through the private writer, keeps unknown keys, and leaves config.json alone', async () => {
    expect(await readSecrets(dir)).toEqual({});
    await updateSecrets(dir, (s) => void (s.hostTokens = { 'h:1': 't1' }));
    await writeFile(secretsPath(dir), JSON.stringify({ ...(await json('secrets.json')), later: { kept: true } }));
    await updateSecrets(dir, (s) => void (s.fingerprints = { 'h:1': 'AA' }));
    expect(await json('secrets.json')).toEqual({
      hostTokens: { 'h:1': 't1' },
      fingerprints: { 'h:1': 'AA' },
      later: { kept: true },
    });
    expect(await mode('secrets.json')).toBe(0o600);
    // No temp files or locks left, and no config.json made for it.
    expect((await readdir(dir)).sort()).toEqual(['secrets.json']);
  });

  it('concurrent writers lose nothing (the lock)', async () => {
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        updateSecrets(dir, (s) => void (s.hostTokens = { ...s.hostTokens, [`h:${i}`]: `t${i}` })),
      ),
    );
    expect(Object.keys((await readSecrets(dir)).hostTokens ?? {})).toHaveLength(8);
  });

  it('bad JSON, a broken shape or a symlink is E_CONFIG naming secrets.json, and the file is not overwritten', async () => {
    const file = secretsPath(dir);
    await writeFile(file, '{"hostTokens": ');
    expect(await codeOf(readSecrets(dir))).toEqual({ code: 'E_CONFIG', path: file });
    expect(await codeOf(updateSecrets(dir, (s) => void (s.token = 'x')))).toEqual({ code: 'E_CONFIG', path: file });
    expect(await readFile(file, 'utf8')).toBe('{"hostTokens": ');
    await writeFile(file, JSON.stringify({ hostTokens: { 'h:1': 5 } }));
    expect(await codeOf(readSecrets(dir))).toEqual({ code: 'E_CONFIG', path: file });
    await rm(file);
    await writeFile(path.join(dir, 'elsewhere.json'), JSON.stringify({ token: 'planted' }));
    await symlink(path.join(dir, 'elsewhere.json'), file);
    expect(await codeOf(readSecrets(dir))).toEqual({ code: 'E_CONFIG', path: file });
  });

  it('is never written into a directory others may write to', async () => {
    await chmod(dir, 0o770);
    expect(await codeOf(updateSecrets(dir, (s) => void (s.token = 'x')))).toEqual({ code: 'E_CONFIG', path: dir });
    await chmod(dir, 0o700);
  });
});

describe('a config.json that still holds secrets (written by an older p2prc)', () => {
  beforeEach(() =>
    writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...OLD, controlPort: 7001, GoKey: 'from Go' })),
  );

  it('keeps working: its secrets are read from there, and reading moves nothing', async () => {
    expect(await readSecrets(dir)).toEqual(OLD);
    expect(await json('config.json')).toMatchObject(OLD);
    expect((await readdir(dir)).includes('secrets.json')).toBe(false);
  });

  it('the next secrets write moves them to secrets.json and removes them from config.json; settings and foreign keys stay', async () => {
    await updateSecrets(dir, (s) => void (s.hostTokens = { ...s.hostTokens, 'h:2': 'new-h2' }));
    expect(await json('secrets.json')).toEqual({ ...OLD, hostTokens: { 'h:1': 'old-h1', 'h:2': 'new-h2' } });
    expect(await json('config.json')).toEqual({ controlPort: 7001, GoKey: 'from Go' });
    expect(await mode('secrets.json')).toBe(0o600);
    expect(await mode('config.json')).toBe(0o600);
    expect(await readSecrets(dir)).toEqual({ ...OLD, hostTokens: { 'h:1': 'old-h1', 'h:2': 'new-h2' } });
  });

  it('a settings write moves them too, so conf never writes a token back', async () => {
    await updateConfig(dir, (c) => c.set('refusals', { 'h:1': '2025-01-01T00:00:00.000Z' }));
    expect(await json('config.json')).toEqual({
      controlPort: 7001,
      GoKey: 'from Go',
      refusals: { 'h:1': '2025-01-01T00:00:00.000Z' },
    });
    expect(await json('secrets.json')).toEqual(OLD);
    expect((await openConfig(dir)).get('controlPort')).toBe(7001);
  });

  it('secrets.json wins where both hold a value; what only config.json holds is kept', async () => {
    await writeFile(
      secretsPath(dir),
      JSON.stringify({
        token: 'new-global',
        hostTokens: { 'h:1': 'new-h1', 'h:3': 'h3' },
        trustedFingerprints: ['CC'],
      }),
      { mode: 0o600 },
    );
    const expected = {
      token: 'new-global',
      hostTokens: { 'h:1': 'new-h1', 'h:3': 'h3' },
      fingerprints: { 'h:1': 'AA' },
      trustedFingerprints: ['CC', 'BB'],
    };
    expect(await readSecrets(dir)).toEqual(expected);
    await updateSecrets(dir, () => undefined);
    expect(await json('secrets.json')).toEqual(expected);
    expect(Object.keys(await json('config.json')).sort()).toEqual(['GoKey', 'controlPort']);
  });
});
