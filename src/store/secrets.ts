import path from 'node:path';
import type Conf from 'conf';
import { P2prcError } from '../errors.js';
import { withFileLock, writeFileAtomic } from './atomic.js';
import {
  SECRET_KEYS,
  configViolations,
  type P2prcConfig,
  type P2prcSecrets,
  type P2prcSettings,
} from './config-schema.js';
import { CONFIG_FILE, openConfig, readConfigFile } from './config.js';
import { readJsonFile } from './json-file.js';
import { assertPrivateDir } from './private-file.js';

/**
 * secrets.json in the config directory: the tokens a client or host uses, and the pins and
 * confirmations that decide which hosts get them. Written only by the store's one writer
 * (private-file.ts: 0600, O_EXCL|O_NOFOLLOW temp file, fsync, rename), under a lock; read with
 * O_NOFOLLOW on every use. Not in config.json: conf writes that file itself, and P2PRC's Go reads
 * it and, on `--dc`, rewrites it whole with only its own keys.
 */
export const SECRETS_FILE = 'secrets.json';

export function secretsPath(dir: string): string {
  return path.join(dir, SECRETS_FILE);
}

/** secrets.json as stored, {} when there is none; unknown keys are kept. Anything wrong is E_CONFIG naming it. */
async function loadSecrets(file: string): Promise<P2prcSecrets> {
  const parsed = await readJsonFile(file, { noFollow: true });
  if (parsed === undefined) return {};
  const found = configViolations(parsed);
  if (found.length > 0)
    throw new P2prcError('E_CONFIG', `${file} does not match its schema: ${found.join('; ')}; it was left untouched`, {
      details: { path: file },
    });
  return parsed as P2prcSecrets;
}

/** The secrets an older p2prc kept in config.json. */
function secretsIn(config: P2prcConfig): P2prcSecrets {
  return Object.fromEntries(SECRET_KEYS.filter((k) => config[k] !== undefined).map((k) => [k, config[k]]));
}

/** secrets.json's values win; what only config.json still holds is kept (maps merged, lists joined). */
function fold(stored: P2prcSecrets, legacy: P2prcSecrets): P2prcSecrets {
  const out = { ...stored };
  if (out.token === undefined && legacy.token !== undefined) out.token = legacy.token;
  if (legacy.hostTokens) out.hostTokens = { ...legacy.hostTokens, ...stored.hostTokens };
  if (legacy.fingerprints) out.fingerprints = { ...legacy.fingerprints, ...stored.fingerprints };
  if (legacy.trustedFingerprints)
    out.trustedFingerprints = [...new Set([...(stored.trustedFingerprints ?? []), ...legacy.trustedFingerprints])];
  return out;
}

/** The secrets, read on every use: secrets.json, then what an older p2prc left in config.json. */
export async function readSecrets(dir: string): Promise<P2prcSecrets> {
  const [stored, config] = await Promise.all([loadSecrets(secretsPath(dir)), readConfigFile(dir)]);
  return fold(stored, secretsIn(config));
}

/**
 * Every write of secrets.json or config.json. Both files are locked, secrets.json's lock always
 * first, so two writers never wait on each other. Secrets are never written into a directory others
 * may write to (assertPrivateDir). Secrets still in config.json are moved: written to
 * secrets.json first, then deleted from config.json, so a crash in between leaves them in both
 * files, where readSecrets reads them the same way.
 */
async function update<R>(
  dir: string,
  fn: (secrets: P2prcSecrets, config: () => Conf<P2prcSettings>) => R,
  wantsConfig = false,
): Promise<R> {
  const file = secretsPath(dir);
  return withFileLock(file, () =>
    withFileLock(path.join(dir, CONFIG_FILE), async () => {
      const stored = await loadSecrets(file);
      const legacy = secretsIn(await readConfigFile(dir));
      const secrets = fold(stored, legacy);
      const before = JSON.stringify(secrets);
      const moving = Object.keys(legacy).length > 0;
      // Opened only when needed: conf creates a missing directory with the default mode.
      const conf = wantsConfig || moving ? await openConfig(dir) : undefined;
      const config = () => conf!;
      const result = fn(secrets, config);
      if (moving || JSON.stringify(secrets) !== before) {
        await assertPrivateDir(dir);
        await writeFileAtomic(file, `${JSON.stringify(secrets, null, 2)}\n`);
      }
      if (moving) {
        const c = config();
        const rest = c.store as P2prcConfig;
        for (const k of SECRET_KEYS) delete rest[k];
        c.store = rest;
      }
      return result;
    }),
  );
}

/** Read-modify-write of the secrets under the lock; `fn` changes them in place. */
export async function updateSecrets<R>(dir: string, fn: (secrets: P2prcSecrets) => R): Promise<R> {
  return update(dir, (secrets) => fn(secrets));
}

/** Writes settings to config.json through conf, under the lock; secrets are not among them (see update). */
export async function updateConfig<R>(dir: string, fn: (config: Conf<P2prcSettings>) => R): Promise<R> {
  return update(dir, (_secrets, config) => fn(config()), true);
}
