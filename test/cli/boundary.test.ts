import { describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { killAll, runCli, startCli } from '../helpers/cli.js';
import { freePort } from '../helpers/newuser.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const CLI_SRC = path.join(ROOT, 'src', 'cli');
/** What src/cli may reach in the project besides its own folder (issue 13: one way in). */
const ALLOWED = ['src/index.ts', 'src/views.ts', 'src/errors.ts', 'src/version.ts'];
const ALLOWED_PACKAGES = ['yargs'];

interface ImportRef {
  specifier: string;
  /** Erased by the compiler: `import type`, `export type`, `typeof import()`. */
  typeOnly: boolean;
  dynamic: boolean;
}

/** Every module reference in a file, found by the TypeScript parser: static, re-export, dynamic and type imports. */
function importsOf(source: string, file = 'x.ts'): ImportRef[] {
  const refs: ImportRef[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      const typeOnly = !!clause && (clause.isTypeOnly || (!clause.name && !!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
      refs.push({ specifier: node.moduleSpecifier.text, typeOnly, dynamic: false });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      refs.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly, dynamic: false });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      // A computed specifier could reach anything: it counts as a violation.
      refs.push({ specifier: arg && ts.isStringLiteral(arg) ? arg.text : '<computed>', typeOnly: false, dynamic: true });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      refs.push({ specifier: node.argument.literal.text, typeOnly: true, dynamic: false });
    } else if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'require') {
      refs.push({ specifier: '<require>', typeOnly: false, dynamic: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS));
  return refs;
}

/** Where a reference from src/cli/<file> lands, relative to the repo ("src/index.ts"), or the package name. */
function target(fromFile: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier.startsWith('node:') ? 'node:' : specifier.split('/')[0]!;
  return path.relative(ROOT, path.resolve(path.dirname(fromFile), specifier)).split(path.sep).join('/').replace(/\.js$/, '.ts');
}

async function cliFiles(): Promise<string[]> {
  return (await readdir(CLI_SRC)).filter((f) => f.endsWith('.ts')).map((f) => path.join(CLI_SRC, f));
}

describe('the import parser itself', () => {
  it('sees static, type-only, re-export, dynamic, import-type and computed references', () => {
    const refs = importsOf(`
      import a from '../a.js';
      import type { B } from '../b.js';
      import { type C, d } from '../c.js';
      import {
        type E,
      } from '../e.js';
      export { f } from '../f.js';
      export type { G } from '../g.js';
      type H = typeof import('../h.js');
      const i = await import('../i.js');
      const j = await import(name);
      import '../k.js';
    `);
    expect(refs.map((r) => `${r.specifier}:${r.typeOnly ? 'type' : 'value'}${r.dynamic ? ':dynamic' : ''}`)).toEqual([
      '../a.js:value', '../b.js:type', '../c.js:value', '../e.js:type', '../f.js:value', '../g.js:type', '../h.js:type',
      '../i.js:value:dynamic', '<computed>:value:dynamic', '../k.js:value',
    ]);
  });
});

describe('src/cli boundary', () => {
  it('src/cli/*.ts imports nothing from src but index, errors, version and its own folder', async () => {
    const files = await cliFiles();
    expect(files.length).toBeGreaterThan(5);
    const violations: string[] = [];
    for (const file of files) {
      for (const ref of importsOf(await readFile(file, 'utf8'), file)) {
        const to = target(file, ref.specifier);
        const ok = to === 'node:' || ALLOWED_PACKAGES.includes(to) || ALLOWED.includes(to) || (to.startsWith('src/cli/') && to.split('/').length === 3);
        if (!ok) violations.push(`${path.basename(file)} -> ${ref.specifier}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('loads the library only on demand: src/index.ts and src/views.ts are imported for types or dynamically, and only by lib.ts at run time', async () => {
    const valueImports: string[] = [];
    for (const file of await cliFiles()) {
      for (const ref of importsOf(await readFile(file, 'utf8'), file)) {
        const to = target(file, ref.specifier);
        if ((to !== 'src/index.ts' && to !== 'src/views.ts') || ref.typeOnly) continue;
        valueImports.push(`${path.basename(file)}:${to}:${ref.dynamic ? 'dynamic' : 'static'}`);
      }
    }
    expect(valueImports.sort()).toEqual(['lib.ts:src/index.ts:dynamic', 'lib.ts:src/views.ts:dynamic']);
  });

  it('src/views.ts is part of the library: src/index.ts re-exports every name it has', async () => {
    const views = await import('../../src/views.js');
    const index = await import('../../src/index.js');
    for (const name of Object.keys(views)) expect(index[name as keyof typeof index], name).toBe(views[name as keyof typeof views]);
  });
});

/**
 * The chunks of dist/bundle/ (scripts/bundle.js) and the compiled modules (dist/...) each chunk holds,
 * from esbuild's metafile: what loading a chunk costs, in the modules the rules below are about.
 */
async function bundleInputs(): Promise<Map<string, string[]>> {
  const meta = JSON.parse(await readFile(path.join(ROOT, 'dist', 'bundle', 'meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  return new Map(Object.entries(meta.outputs).map(([out, o]) => [path.join(ROOT, out), Object.keys(o.inputs).map((i) => path.join(ROOT, i))]));
}

/** The project files (under dist/) the built CLI loads for `args`, seen by a module-load hook; a bundle chunk stands for the modules in it. */
async function loadedFiles(args: string[]): Promise<{ code: number | null; files: string[] }> {
  const hook = path.join(ROOT, 'test', 'fixtures', 'trace-loads.mjs');
  const r = await runCli(args, { NODE_OPTIONS: `--import=${hook}` });
  const dist = `${path.join(ROOT, 'dist')}${path.sep}`;
  const chunks = await bundleInputs();
  const loaded = r.stderr.split('\n').filter((l) => l.startsWith('LOADED file://')).map((l) => decodeURIComponent(new URL(l.slice('LOADED '.length)).pathname));
  const files = loaded.flatMap((f) => chunks.get(f) ?? [f]).filter((f) => f.startsWith(dist)).map((f) => path.relative(dist, f));
  return { code: r.code, files: [...new Set(files)] };
}

describe('what the built CLI loads', () => {
  // log.js is the leaf debug helper version.ts and errors' users share (node:util only), not the library.
  const CHEAP = ['errors.js', 'version.js', 'log.js'];

  it('p2prc --help and a command\'s --help load the cli folder, errors, version (and its log helper) only', async () => {
    for (const args of [['--help'], ['--view-rpm', '--help'], ['-s', '--connect-reverse-proxy', '127.0.0.1', '--help']]) {
      const { code, files } = await loadedFiles(args);
      expect(code).toBe(0);
      expect(files).toContain('cli/main.js');
      expect(files.some((f) => f.startsWith('bundle/'))).toBe(false);
      expect(files.filter((f) => !f.startsWith('cli/') && !CHEAP.includes(f))).toEqual([]);
    }
  });

  it('a command that runs loads the library through index.js (the trace sees dynamic imports)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'p2prc-boundary-'));
    const { code, files } = await loadedFiles(['--ls', '--config-dir', dir]).finally(() => rm(dir, { recursive: true, force: true }));
    expect(code).toBe(0);
    expect(files).toContain('index.js');
  });

  it('the offline views load the views part of the library and no engine (no host, client or frp code)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'p2prc-boundary-'));
    try {
      for (const args of [['--view-rpm', '--json'], ['--view-rps', '--json'], ['--view-clients', '--json']]) {
        const { code, files } = await loadedFiles([...args, '--config-dir', dir]);
        expect(code, args.join(' ')).toBe(0);
        expect(files).toContain('views.js');
        expect(files).toContain('service/views.js');
        expect(files).not.toContain('index.js');
        expect(files.filter((f) => /^(host|frp|frp-wire|mux|vhost|node)\//.test(f))).toEqual([]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('what a running client keeps', () => {
  it('conf and ajv come from the bundle: a client that opened config.json required nothing of them from node_modules', async () => {
    // Loaded from node_modules they are some 60 CommonJS files and 13 MB of RSS for the life of the
    // process; bundled, about 5 (docs/benchmarks.md, session 6). The fallback only serves library
    // users who call openConfig without preloadConfig.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'p2prc-boundary-'));
    try {
      const control = await freePort();
      const host = startCli(['-s', '--reverse-proxy', '--bind', '127.0.0.1', '--control-port', String(control), '--port', '0', '--no-tls', '--token', 'boundary-token', '--config-dir', path.join(dir, 'host')]);
      await host.waitFor((l) => l.includes('Control address'));
      const hook = path.join(ROOT, 'test', 'fixtures', 'list-cjs.cjs');
      const client = startCli(['-s', '--connect-reverse-proxy', `127.0.0.1:${control}`, '--no-tls', '--token', 'boundary-token', '--config-dir', path.join(dir, 'client')], { NODE_OPTIONS: `--require=${hook}` });
      await client.waitFor((l) => l.startsWith('Published:'));
      // The client stored the host's token in config.json: conf was used, not just loaded.
      expect(JSON.parse(await readFile(path.join(dir, 'client', 'config.json'), 'utf8')).hostTokens).toBeDefined();
      client.child.kill('SIGUSR2');
      await client.waitFor((l) => l === 'CJS-END', 10_000, 'stderr');
      // The listing works (the hook lists itself), then: nothing of conf's from node_modules.
      expect(client.stderr).toContain(`CJS ${hook}`);
      const fromModules = client.stderr.filter((l) => l.startsWith('CJS ') && l.includes(`${path.sep}node_modules${path.sep}`));
      expect(fromModules.filter((l) => /node_modules[\\/](conf|ajv|ajv-formats|fast-uri|atomically|semver)[\\/]/.test(l))).toEqual([]);
    } finally {
      await killAll();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('conf in the bundle', () => {
  /** The chunk that holds conf (its default export is conf's class), from esbuild's metafile. */
  async function confChunk(): Promise<{ file: string; inputs: string[] }> {
    const chunks = await bundleInputs();
    const found = [...chunks].find(([, inputs]) => inputs.some((i) => i.endsWith(path.join('node_modules', 'conf', 'dist', 'source', 'index.js'))));
    if (!found) throw new Error('no chunk of dist/bundle holds conf');
    return { file: found[0], inputs: found[1] };
  }

  it('leaves ajv, ajv-formats and semver out of conf\'s chunk (stand-ins load them on first use)', async () => {
    const { inputs } = await confChunk();
    expect(inputs.filter((i) => /node_modules[\\/](ajv|ajv-formats|semver|fast-uri)[\\/]/.test(i))).toEqual([]);
    expect(inputs.map((i) => path.relative(ROOT, i).split(path.sep).join('/'))).toEqual(expect.arrayContaining(['scripts/bundle/ajv-2020.js', 'scripts/bundle/semver.js']));
  });

  it('still validates a schema and runs migrations, with the real packages loaded when first used', async () => {
    const { file } = await confChunk();
    const { default: Conf } = (await import(pathToFileURL(file).href)) as { default: new (o: Record<string, unknown>) => { get(k: string): unknown; set(k: string, v: unknown): void } };
    const dir = await mkdtemp(path.join(os.tmpdir(), 'p2prc-conf-bundle-'));
    try {
      const store = new Conf({ cwd: dir, projectName: 'p', schema: { port: { type: 'number', maximum: 65535 }, mail: { type: 'string', format: 'email' } } });
      store.set('port', 8080);
      expect(() => store.set('port', 70000)).toThrow(/port/);
      expect(() => store.set('mail', 'not an address')).toThrow(/mail/);
      expect(store.get('port')).toBe(8080);
      const migrated = new Conf({ cwd: dir, projectName: 'p', configName: 'm', projectVersion: '2.0.0', migrations: { '>=1.0.0': (s: { set(k: string, v: unknown): void }) => s.set('moved', true) } });
      expect(migrated.get('moved')).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

