import type Conf from 'conf';
import path from 'node:path';
import envPaths from 'env-paths';
import { P2prcError } from '../errors.js';
import { checkConfig, type P2prcConfig, type P2prcSettings } from './config-schema.js';
import { readJsonFile } from './json-file.js';

export type { P2prcConfig, P2prcSecrets, P2prcSettings } from './config-schema.js';

export const CONFIG_FILE = 'config.json';

/** Where records and config live: --config-dir, else $P2PRC, else the platform config directory. */
export function resolveConfigDir(flag?: string): string {
  if (flag) return path.resolve(flag);
  if (process.env.P2PRC) return path.resolve(process.env.P2PRC);
  // conf's own default directory (env-paths with its "nodejs" suffix), without loading conf for it.
  return path.resolve(envPaths('p2prc', { suffix: 'nodejs' }).config);
}

const invalidConfig = (file: string, err: unknown) =>
  new P2prcError('E_CONFIG', `invalid config ${file}: ${(err as Error).message}`, {
    cause: err,
    details: { path: file },
  });

/**
 * config.json in the config directory, checked on every read and write (atomic writes by conf). It
 * holds settings, never secrets (src/store/secrets.ts); writes go through updateConfig, which moves
 * secrets an older p2prc left there.
 */
export async function openConfig(dir: string): Promise<Conf<P2prcSettings>> {
  // conf (with ajv) is loaded by the commands that use config.json, not by every command that reads records.
  const { default: ConfClass } = await import('conf');
  try {
    return new ConfClass<P2prcSettings>({
      projectName: 'p2prc',
      cwd: dir,
      configName: 'config',
      clearInvalidConfig: false,
      configFileMode: 0o600,
      // conf's own serialization, with the shape checked on the way in and out (src/store/config-schema.ts).
      deserialize: (text) => checkConfig(JSON.parse(text) as P2prcSettings),
      serialize: (value) => JSON.stringify(checkConfig(value), undefined, '\t'),
    });
  } catch (err) {
    throw invalidConfig(path.join(dir, CONFIG_FILE), err);
  }
}

/**
 * config.json as it is on disk, checked like conf checks it, without opening conf (which would
 * create the directory with the default mode when it is missing): {} when there is none.
 */
export async function readConfigFile(dir: string): Promise<P2prcConfig> {
  const file = path.join(dir, CONFIG_FILE);
  const parsed = (await readJsonFile(file)) ?? {};
  try {
    return checkConfig(parsed as P2prcConfig);
  } catch (err) {
    throw invalidConfig(file, err);
  }
}
