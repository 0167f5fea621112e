// The build: one esbuild bundle of the CLI and the library into dist/ (a command loads a few files
// instead of ~170 modules). Dependencies stay in node_modules, loaded as they are. `--types` also
// writes the library's types as one declaration file (for the package; `npm run lint` type-checks).
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'dist');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/**
 * string-width (under yargs' help layout) makes an Intl.Segmenter when it loads, which loads ICU's
 * break data: about 8 ms of every command's start, though only help text with wide characters uses
 * it. Made on first use instead.
 */
const lazySegmenter = {
  name: 'lazy-segmenter',
  setup(b) {
    b.onLoad({ filter: /[\\/]string-width[\\/]index\.js$/ }, async (args) => {
      const source = readFileSync(args.path, 'utf8');
      const eager = 'const segmenter = new Intl.Segmenter();';
      if (!source.includes(eager)) return undefined;
      const lazy =
        'let madeSegmenter; const segmenter = { segment: (text) => (madeSegmenter ??= new Intl.Segmenter()).segment(text) };';
      return { contents: source.replace(eager, lazy), loader: 'js' };
    });
  },
};

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
  // Dependencies load from node_modules, but yargs and the small packages under it are bundled: a
  // command's arguments are parsed on every start, and ~70 files cost more to find and load than one.
  external: Object.keys(pkg.dependencies).filter((name) => name !== 'yargs'),
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
  plugins: [lazySegmenter],
});
if (process.argv.includes('--types')) {
  const generator = path.join(ROOT, 'node_modules', '.bin', 'dts-bundle-generator');
  execFileSync(generator, ['--silent', '--no-banner', '-o', 'dist/index.d.ts', 'src/index.ts'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}
