// The build: type-check, then one esbuild bundle of the CLI and the library into dist/ (a command loads
// a few files instead of ~170 modules), then the library's types as one declaration file. Dependencies
// stay in node_modules, loaded as they are.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'dist');
const bin = (name) => path.join(ROOT, 'node_modules', '.bin', name);

execFileSync(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit'], { cwd: ROOT, stdio: 'inherit' });
rmSync(OUT, { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: {
    main: 'src/cli/main.ts',
    early: 'src/cli/early.ts',
    'held-listener': 'src/transport/held-listener.ts',
    index: 'src/index.ts',
    views: 'src/views/index.ts',
  },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  packages: 'external',
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
});
execFileSync(
  bin('dts-bundle-generator'),
  ['--silent', '--no-check', '--no-banner', '-o', 'dist/index.d.ts', 'src/index.ts'],
  { cwd: ROOT, stdio: 'inherit' },
);
