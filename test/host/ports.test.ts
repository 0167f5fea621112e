import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_ANY_RANGE, PortPolicy } from '../../src/host/ports.js';
import { formatPortRanges, parsePortRanges } from '../../src/protocol/address.js';

describe('port ranges', () => {
  it('parses ranges and names bad input', () => {
    expect(parsePortRanges('6000-6002, 7000')).toEqual([
      { start: 6000, end: 6002 },
      { start: 7000, end: 7000 },
    ]);
    for (const bad of ['', '7-', '0', '70000', '9-3', 'abc', ',', '1-65536'])
      expect(() => parsePortRanges(bad)).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });

  it('formats back to what it parsed, for any valid ranges', () => {
    const range = fc
      .tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 500 }))
      .map(([start, len]) => ({ start, end: Math.min(65535, start + len) }));
    fc.assert(
      fc.property(fc.array(range, { minLength: 1, maxLength: 8 }), (ranges) => {
        expect(parsePortRanges(formatPortRanges(ranges))).toEqual(ranges);
      }),
    );
  });
});

describe('port policy', () => {
  it('allows, denies, reserves for an owner, and picks only free allowed ports', () => {
    const p = new PortPolicy(parsePortRanges('6000-6002'));
    expect(() => p.check(7000, 'a')).toThrow(
      expect.objectContaining({ code: 'E_PORT_DENIED', details: { port: 7000, side: 'host' } }),
    );
    p.take(6000, 'a');
    expect(() => p.take(6000, 'b')).toThrow(
      expect.objectContaining({ code: 'E_PORT_TAKEN', details: { port: 6000, side: 'host' } }),
    );
    expect(() => p.take(6000, 'a')).not.toThrow();
    expect(p.countOwnedBy('a')).toBe(1);
    expect(p.pickCandidates(5, new Set([6001])).sort()).toEqual([6002]);
    p.release(6000, 'b');
    expect(p.ownerOf(6000)).toBe('a');
    p.release(6000, 'a');
    expect(p.pickCandidates(5, new Set()).sort()).toEqual([6000, 6001, 6002]);
  });

  it('without a policy allows every unprivileged port (>= 1024) and picks "any" from the default range', () => {
    const p = new PortPolicy();
    for (const low of [1, 25, 53, 80, 123, 443, 1023]) expect(p.isAllowed(low)).toBe(false);
    expect(() => p.check(80, 'a')).toThrow(expect.objectContaining({ code: 'E_PORT_DENIED' }));
    expect(p.isAllowed(1024)).toBe(true);
    expect(p.isAllowed(65535)).toBe(true);
    expect(p.isAllowed(0)).toBe(false);
    expect(new PortPolicy([{ start: 80, end: 80 }]).isAllowed(80)).toBe(true); // --allow-ports lists it
    expect(p.ranges).toEqual([DEFAULT_ANY_RANGE]);
    for (const port of p.pickCandidates(50, new Set())) {
      expect(port).toBeGreaterThanOrEqual(DEFAULT_ANY_RANGE.start);
      expect(port).toBeLessThanOrEqual(DEFAULT_ANY_RANGE.end);
    }
  });

  it('picks across several ranges and still finds the last free port when random probing keeps missing', () => {
    const p = new PortPolicy(parsePortRanges('100-101,200,300-302'));
    for (const port of [100, 101, 200, 300, 301]) p.take(port, 'x');
    // A random source stuck on one taken port: the full scan must still find 302.
    expect(p.pickCandidates(3, new Set(), () => 0)).toEqual([302]);
    p.take(302, 'x');
    expect(p.pickCandidates(3, new Set())).toEqual([]);
    expect(p.countOwnedBy('x')).toBe(6);
  });

  it('only the owner releases a port, so a reserved port stays reserved for its client', () => {
    const p = new PortPolicy(parsePortRanges('6000'));
    p.take(6000, 'owner');
    p.release(6000, 'someone-else');
    expect(() => p.check(6000, 'someone-else')).toThrow(expect.objectContaining({ code: 'E_PORT_TAKEN' }));
    expect(() => p.check(6000, 'owner')).not.toThrow();
  });
});
