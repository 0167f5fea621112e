import { describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';

/**
 * The floor plan of src/ (docs/architecture.md), checked on every run so it stays true: imports point
 * down only, so no cycle between units can form. A unit is a top-level folder, or a file or subfolder
 * given a layer of its own where a feature folder holds pieces at two heights (the service registry
 * sits below the host, the visitor above the client). A new folder is given a layer here before it lands.
 */
const ROOT = path.resolve(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'src');

/** Lower number = lower layer. A module may import its own unit or any unit of a strictly lower layer. */
const LAYERS: Record<string, number> = {
  errors: 0,
  log: 1,
  version: 2,
  protocol: 2,
  store: 3,
  mux: 3,
  transport: 3,
  services: 4,
  direct: 4,
  vhost: 4,
  'frp-wire': 5,
  admin: 5,
  host: 6,
  client: 6,
  node: 6,
  frp: 6,
  'services/visit': 7,
  'modes/publishers': 7,
  views: 7,
  'admin/attach': 8,
  modes: 9,
  'services/run': 10,
  index: 11,
  cli: 12,
};

async function sourceFiles(dir = SRC): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(full)));
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

/** The unit a file belongs to: the longest entry of LAYERS that names it, its folder or its parent folder. */
function unitOf(file: string): string {
  const rel = path.relative(SRC, file).replace(/\.ts$/, '').split(path.sep);
  for (let n = rel.length; n > 1; n--) {
    const key = rel.slice(0, n).join('/');
    if (key in LAYERS) return key;
  }
  return rel[0]!;
}

function parse(file: string, text: string): ts.SourceFile {
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

/** Relative module specifiers of every import, re-export, dynamic import and import type. */
function relativeImports(sf: ts.SourceFile): string[] {
  const specs: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    )
      specs.push(node.moduleSpecifier.text);
    else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    )
      specs.push(node.arguments[0].text);
    else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    )
      specs.push(node.argument.literal.text);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return specs.filter((s) => s.startsWith('.'));
}

const files = await sourceFiles();
const parsed = await Promise.all(files.map(async (f) => ({ file: f, text: await readFile(f, 'utf8') })));

describe('the floor plan of src/', () => {
  it('gives every top-level folder and file of src/ a layer', () => {
    const unknown = [...new Set(files.map(unitOf))].filter((u) => !(u in LAYERS));
    expect(unknown, 'add these to LAYERS and docs/architecture.md').toEqual([]);
  });

  it('imports point down only (own unit, or a strictly lower layer), so no cycle between units can form', () => {
    const upward: string[] = [];
    for (const { file, text } of parsed) {
      const from = unitOf(file);
      for (const spec of relativeImports(parse(file, text))) {
        const to = unitOf(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
        if (to !== from && !(LAYERS[to]! < LAYERS[from]!))
          upward.push(`${path.relative(ROOT, file)} -> ${spec} (${from} -> ${to})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('the checker finds every kind of import and names the unit of a split folder (self-test)', () => {
    const fake = path.join(SRC, 'protocol', 'fake.ts');
    const specs = relativeImports(
      parse(fake, "import { x } from '../host/host.js';\nexport type Y = typeof import('./frame.js');"),
    );
    expect(specs).toEqual(['../host/host.js', './frame.js']);
    expect(unitOf(path.resolve(path.dirname(fake), specs[0]!.replace(/\.js$/, '.ts')))).toBe('host');
    expect(unitOf(path.join(SRC, 'services', 'visit.ts'))).toBe('services/visit');
    expect(unitOf(path.join(SRC, 'services', 'registry.ts'))).toBe('services');
    expect(unitOf(path.join(SRC, 'frp-wire', 'server', 'frp-server.ts'))).toBe('frp-wire');
  });
});
