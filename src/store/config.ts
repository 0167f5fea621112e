import Conf from 'conf';
import path from 'node:path';
import envPaths from 'env-paths';
import { P2prcError } from '../errors.js';
import { checkConfig, type P2prcConfig } from './config-schema.js';

export type { P2prcConfig } from './config-schema.js';

/** Where records and config live: --config-dir, else $P2PRC, else the platform config directory. */
export function resolveConfigDir(flag?: string): string {
  if (flag) return path.resolve(flag);
  if (process.env.P2PRC) return path.resolve(process.env.P2PRC);
  // conf's own default directory (env-paths with its "nodejs" suffix), without loading conf for it.
  return path.resolve(envPaths('p2prc', { suffix: 'nodejs' }).config);
}

/** config.json in the config directory, checked on every read and write (atomic writes by conf). */
export function openConfig(dir: string): Conf<P2prcConfig> {
  try {
    return new Conf<P2prcConfig>({
      projectName: 'p2prc',
      cwd: dir,
      configName: 'config',
      clearInvalidConfig: false,
      configFileMode: 0o600,
      // conf's own serialization, with the shape checked on the way in and out (src/store/config-schema.ts).
      deserialize: (text) => checkConfig(JSON.parse(text) as P2prcConfig),
      serialize: (value) => JSON.stringify(checkConfig(value), undefined, '\t'),
    });
  } catch (err) {
    throw new P2prcError('E_CONFIG', `invalid config ${path.join(dir, 'config.json')}: ${(err as Error).message}`, {
      cause: err,
      details: { path: path.join(dir, 'config.json') },
    });
  }
}
