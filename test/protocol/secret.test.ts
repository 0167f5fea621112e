import { describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/protocol/secret.js';

describe('generated tokens and secrets', () => {
  it('never start with "-" (it would be read as a flag on the printed command line), 2,000 draws', () => {
    const drawn = Array.from({ length: 2_000 }, () => generateSecret());
    for (const s of drawn) expect(s).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{31}$/);
    expect(new Set(drawn).size).toBe(drawn.length);
  });
});
