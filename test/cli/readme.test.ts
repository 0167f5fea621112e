import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parsePublished } from '../helpers/cli.js';
import { serverTable } from '../../src/cli/view-rps.js';
import { mappingTable } from '../../src/cli/view-rpm.js';
import { formatAddress } from '../../src/protocol/address.js';

// The README's transcript was pasted from a real run: it must still be what the CLI prints.
const README = await readFile(path.resolve(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
const lines = README.split('\n');

describe('README', () => {
  it('shows Published lines, table headers and states in the form the CLI prints them', () => {
    const published = lines.filter((l) => l.startsWith('Published: '));
    expect(published.length).toBeGreaterThanOrEqual(2);
    for (const l of published) expect(() => parsePublished(l)).not.toThrow();
    // Column widths follow the rows; the header cells must match.
    const cells = (l: string) =>
      l
        .trim()
        .split(/\s{2,}/)
        .join('|');
    const readmeHeaders = lines.map(cells);
    expect(readmeHeaders).toContain(cells(serverTable([]).split('\n')[0]!));
    expect(readmeHeaders).toContain(cells(mappingTable({ formatAddress }, []).split('\n')[0]!));
    expect(README).toMatch(/ {3}reconnecting since \d\d:\d\d:\d\dZ \(\d+s ago\)\n/);
    const client = lines.find((l) => l.startsWith('  Client command:'))!.replace('  Client command:   ', '$ ');
    expect(lines.some((l) => l.startsWith(`${client} --expose 3000`))).toBe(true);
  });
});
