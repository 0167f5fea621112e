import type Conf from 'conf';
import { createRequire } from 'node:module';
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

type ConfClass = typeof import('conf').default;
let confClass: ConfClass | undefined;

/**
 * Loads conf ahead of `openConfig`, as a part of the bundle (scripts/bundle.js makes this import a
 * chunk of its own, loaded on first use). Awaited once where the library's work with config.json
 * starts: runNodeService (its token lookup, pins and host ranking open it later), runHostService when
 * flags leave something to the file, the service commands' host access, discovery's record writes.
 *
 * Loaded from node_modules instead, conf and ajv are some 60 CommonJS files: resolving them makes V8
 * optimize Node's path functions, and the process keeps 13 MB more RSS for its whole life, against
 * 5 MB bundled (issue 16's idle client, docs/benchmarks.md).
 */
export async function preloadConfig(): Promise<void> {
  try {
    confClass ??= (await import('conf')).default;
  } catch (err) {
    throw new P2prcError('E_CONFIG', `cannot load conf, which reads and writes config.json: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * conf (and the ajv it imports) is half of the library's load time, and most commands never open config.json:
 * it is loaded on first use. Without `preloadConfig` (a library user calling `openConfig` first), it
 * is required synchronously from node_modules (require of an ES module, Node >= 20.19).
 */
function loadConf(): ConfClass {
  return (confClass ??= (createRequire(import.meta.url)('conf') as { default: ConfClass }).default);
}

/** config.json in the config directory, checked on every read and write (atomic writes by conf). */
export function openConfig(dir: string): Conf<P2prcConfig> {
  try {
    const Conf = loadConf();
    return new Conf<P2prcConfig>({
      projectName: 'p2prc', cwd: dir, configName: 'config', clearInvalidConfig: false, configFileMode: 0o600,
      // conf's own serialization, with the shape checked on the way in and out (src/store/config-schema.ts).
      deserialize: (text) => checkConfig(JSON.parse(text) as P2prcConfig),
      serialize: (value) => JSON.stringify(checkConfig(value), undefined, '\t'),
    });
  } catch (err) {
    throw new P2prcError('E_CONFIG', `invalid config ${path.join(dir, 'config.json')}: ${(err as Error).message}`, { cause: err, details: { path: path.join(dir, 'config.json') } });
  }
}
