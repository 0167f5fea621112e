import { readFileSync } from 'node:fs';
import { debugFailure } from './log.js';

/** The package version, read once from package.json next to dist/. */
export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch (err) {
    debugFailure('cannot read the package version', err, 'E_CONFIG');
    return '0.0.0';
  }
})();
