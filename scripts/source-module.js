// For tests and benchmarks that run a piece of the library in a child process: bundles one module of
// src/ (TypeScript) into a temporary ES module file and returns its file URL. dist/ holds only the
// shipped entry points, so internal modules are built here on demand.
import { buildSync } from 'esbuild';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '..');
const built = new Map();

/** `modules` are paths under src/, e.g. 'transport/cert.ts'; bundled together, so they share their classes. */
export function sourceModuleUrl(...modules) {
  const key = modules.join(' ');
  let url = built.get(key);
  if (url) return url;
  const outfile = path.join(mkdtempSync(path.join(os.tmpdir(), 'p2prc-src-')), 'module.mjs');
  const contents = modules.map((m) => `export * from ${JSON.stringify(`./src/${m}`)};`).join('\n');
  buildSync({
    absWorkingDir: ROOT,
    stdin: { contents, resolveDir: ROOT, loader: 'ts' },
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    logLevel: 'warning',
  });
  url = pathToFileURL(outfile).href;
  built.set(key, url);
  return url;
}
