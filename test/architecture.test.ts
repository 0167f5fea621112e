import { describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';

/**
 * The floor plan of src/ (docs/architecture.md), checked on every run so it stays true:
 * imports point down only, no folder cycle, no file over 300 lines, no function over 80.
 * A new folder must be given a layer here (and in the doc) before it can land.
 */
const ROOT = path.resolve(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'src');

/** Lower number = lower layer. A module may import its own folder or any folder of a strictly lower layer. */
const LAYERS: Record<string, number> = {
  errors: 0,
  log: 1,
  logging: 1,
  version: 2,
  protocol: 2,
  files: 2,
  mux: 3,
  transport: 3,
  direct: 3,
  vhost: 4,
  'frp-wire': 5,
  admin: 5,
  host: 6,
  client: 6,
  node: 6,
  store: 6,
  frp: 6,
  service: 7,
  views: 8,
  modes: 8,
  index: 9,
  cli: 10,
};
const MAX_FILE_LINES = 300;
const MAX_FUNCTION_LINES = 80;

async function sourceFiles(dir = SRC): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(full)));
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

/** The top-level unit of src/ a file belongs to: its first folder, or its own name for src/*.ts. */
function unitOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length > 1 ? rel[0]! : rel[0]!.replace(/\.ts$/, '');
}

function parse(file: string, text: string): ts.SourceFile {
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

/** Relative module specifiers of every import, re-export, dynamic import and import type. */
function relativeImports(sf: ts.SourceFile): string[] {
  const specs: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) specs.push(node.moduleSpecifier.text);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) specs.push(node.arguments[0].text);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) specs.push(node.argument.literal.text);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return specs.filter((s) => s.startsWith('.'));
}

function longFunctions(sf: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      if (end - start + 1 > MAX_FUNCTION_LINES) found.push(`${path.relative(ROOT, sf.fileName)}:${start + 1} (${end - start + 1} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

const files = await sourceFiles();
const parsed = await Promise.all(files.map(async (f) => ({ file: f, text: await readFile(f, 'utf8') })));

describe('the floor plan of src/', () => {
  it('gives every top-level folder and file of src/ a layer', () => {
    const unknown = [...new Set(files.map(unitOf))].filter((u) => !(u in LAYERS));
    expect(unknown, 'add these to LAYERS and docs/architecture.md').toEqual([]);
  });

  it('imports point down only (own folder, or a strictly lower layer), so no folder cycle can form', () => {
    const upward: string[] = [];
    for (const { file, text } of parsed) {
      const from = unitOf(file);
      for (const spec of relativeImports(parse(file, text))) {
        const to = unitOf(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
        if (to !== from && !(LAYERS[to]! < LAYERS[from]!)) upward.push(`${path.relative(ROOT, file)} -> ${spec} (${from} -> ${to})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it(`has no file over ${MAX_FILE_LINES} lines and no function over ${MAX_FUNCTION_LINES}`, () => {
    const long = parsed.filter((p) => p.text.split('\n').length > MAX_FILE_LINES + 1).map((p) => path.relative(ROOT, p.file));
    expect(long).toEqual([]);
    expect(parsed.flatMap((p) => longFunctions(parse(p.file, p.text)))).toEqual([]);
  });

  it('the checker catches an upward import and a long function (self-test)', () => {
    const fake = path.join(SRC, 'protocol', 'fake.ts');
    const specs = relativeImports(parse(fake, "import { x } from '../host/host.js';\nexport type Y = typeof import('./frame.js');"));
    expect(specs).toEqual(['../host/host.js', './frame.js']);
    expect(unitOf(path.resolve(path.dirname(fake), specs[0]!.replace(/\.js$/, '.ts')))).toBe('host');
    const body = Array.from({ length: MAX_FUNCTION_LINES + 1 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    expect(longFunctions(parse(fake, `function f() {\n${body}\n}`))).toHaveLength(1);
  });
});
