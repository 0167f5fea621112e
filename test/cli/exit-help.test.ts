import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { exitCodeHelp } from '../../src/cli/main.js';

describe('the exit codes in --help', () => {
  it('give every exit status a meaning, and every code but the catch-all status 1 its status', () => {
    const lines = exitCodeHelp().split('\n');
    for (const status of new Set(Object.values(EXIT_CODES))) {
      const line = lines.find((l) => l.startsWith(`  ${status}  `));
      expect(line, `status ${status}`).toBeDefined();
      expect(line).not.toMatch(/^ {2}\d {2}failure/);
      if (status !== 1)
        for (const [code, s] of Object.entries(EXIT_CODES)) if (s === status) expect(line).toContain(code);
    }
  });
});
