import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { debugFailure } from './log/debug.js';

/**
 * The package's root directory. This module sits one level below it both as source (src/version.ts)
 * and built (dist/ is one flat bundle), so its parent is the root either way.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The package version, read once from package.json at the root. */
export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch (err) {
    debugFailure('cannot read the package version', err, 'E_CONFIG');
    return '0.0.0';
  }
})();
