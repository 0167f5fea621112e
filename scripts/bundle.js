// Bundles the built CLI (dist/cli/main.js and the early control listener) and the library into dist/bundle/: one file a
// chunk instead of ~230 modules, so a command pays Node's per-module load cost a few times, not hundreds
// (measured in docs/benchmarks.md, "Startup"). The library stays behind a dynamic import: `--help` loads
// only the CLI's chunk and yargs. dist/ keeps the compiled modules (and the .d.ts the package's types point to).
import { build } from 'esbuild';
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'dist', 'bundle');

/**
 * Code that finds files next to itself (the admin pages, vendor/, package.json, yargs' locales) reads
 * `import.meta.url`; in a chunk that would be the chunk's address. Each such module gets its original
 * address back, relative to the chunk, so it still resolves wherever the package is installed.
 */
/**
 * yargs finds its locales (translated help) from its own address; where npm puts yargs depends on the
 * install, so its locales are copied into the bundle and yargs is told it lives there.
 */
const YARGS = path.join(ROOT, 'node_modules', 'yargs');
function yargsHome(file) {
  return file.startsWith(`${YARGS}${path.sep}`) ? `./yargs/${path.relative(YARGS, file).split(path.sep).join('/')}` : undefined;
}

const originalUrl = {
  name: 'original-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.(m?js)$/ }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = yargsHome(args.path) ?? path.relative(OUT, args.path).split(path.sep).join('/');
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`), loader: 'js' };
    });
  },
};

/**
 * conf imports ajv, ajv-formats and semver as it loads and uses them only for a schema or migrations,
 * which p2prc never passes: from the bundle, conf gets stand-ins that require the real package on first
 * use (scripts/bundle/on-first-use.js). Only conf's imports are redirected; a stand-in's own require
 * reaches the real package.
 */
const CONF_DEPS = { 'ajv/dist/2020.js': 'ajv-2020.js', 'ajv-formats': 'ajv-formats.js', semver: 'semver.js' };
const confDepsOnFirstUse = {
  name: 'conf-deps-on-first-use',
  setup(b) {
    b.onResolve({ filter: /^(ajv\/dist\/2020\.js|ajv-formats|semver)$/ }, (args) => {
      if (!args.importer.includes(`${path.sep}node_modules${path.sep}conf${path.sep}`)) return undefined;
      return { path: path.join(ROOT, 'scripts', 'bundle', CONF_DEPS[args.path]) };
    });
  },
};

const REQUIRE_BANNER = "import { createRequire as __p2prcCreateRequire } from 'node:module'; const require = __p2prcCreateRequire(import.meta.url);";

/**
 * Takes the banner's `require` off the chunks that never name it (most of them): each createRequire
 * resolves the chunk's path and its node_modules lookup list at load, path work that counts towards V8
 * optimizing Node's path helpers, which wakes TurboFan in a client that has only started
 * (docs/benchmarks.md, session 7). A chunk that names `require` in any way keeps it.
 */
function dropUnusedRequire(dir) {
  let bannered = 0;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.js')) continue;
    const file = path.join(dir, name);
    const text = readFileSync(file, 'utf8');
    if (!text.startsWith(`${REQUIRE_BANNER}\n`)) continue;
    bannered++;
    const body = text.slice(REQUIRE_BANNER.length + 1);
    if (!/\brequire\b/.test(body)) writeFileSync(file, body);
  }
  // Every chunk gets the banner: none found means esbuild prints it differently now, not that none is needed.
  if (bannered === 0) throw new Error('scripts/bundle.js: no chunk starts with the require banner');
}

rmSync(OUT, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  // The library is an entry too (the package's export): its users and the CLI share its chunk, and a
  // process holds half the memory of the same code loaded as ~130 modules (docs/benchmarks.md).
  entryPoints: { main: 'dist/cli/main.js', index: 'dist/index.js', views: 'dist/views.js', 'held-listener': 'dist/transport/held-listener.js' },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  // Less text to parse at every start; identifiers keep their names, so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  // A native addon stays a package; it is loaded only by the direct-path code.
  external: ['node-datachannel'],
  // string-width builds Unicode-property regexes and an Intl.Segmenter when it is loaded (about a third
  // of a bare Node start); yargs and cliui only measure help text with it.
  alias: { 'string-width': './scripts/bundle/string-width.js' },
  // Packages written as CommonJS (prom-client, parts of execa) require() Node's modules: an ES module
  // chunk has no require of its own. (esbuild renames the bundled modules' own `require` bindings.)
  banner: { js: REQUIRE_BANNER },
  plugins: [confDepsOnFirstUse, originalUrl],
  metafile: true,
  logLevel: 'warning',
});
dropUnusedRequire(OUT);
cpSync(path.join(YARGS, 'locales'), path.join(OUT, 'yargs', 'locales'), { recursive: true });
// test/cli/boundary.test.ts maps the chunks a command loads back to their modules with this.
writeFileSync(path.join(OUT, 'meta.json'), JSON.stringify(result.metafile));
// Node finds a .js file's module type by walking up from it to the nearest package.json, turning a URL
// into a path at each step, for every chunk it loads: an answer at the first step saves that work.
writeFileSync(path.join(OUT, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);
