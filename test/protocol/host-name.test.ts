import { describe, expect, it } from 'vitest';
import { isHostNameOrIp } from '../../src/protocol/parse-address.js';

describe('isHostNameOrIp (RFC 1123 host names, IP literals)', () => {
  it('accepts host names, a trailing dot, IPv4 and IPv6 literals', () => {
    for (const ok of [
      'example.com',
      'a.b-c.example',
      'localhost',
      '3com.net',
      'host.example.com.',
      '203.0.113.5',
      '::1',
    ])
      expect(isHostNameOrIp(ok), ok).toBe(true);
    expect(isHostNameOrIp(`${'a'.repeat(63)}.com`)).toBe(true);
  });

  it('refuses empty labels, edge hyphens, other characters, long labels and names', () => {
    for (const bad of ['', '.', 'not..valid', '-a.com', 'a-.com', 'a_b.com', 'a b.com', 'http://a.com', '[::1]'])
      expect(isHostNameOrIp(bad), bad).toBe(false);
    expect(isHostNameOrIp(`${'a'.repeat(64)}.com`)).toBe(false);
    expect(isHostNameOrIp(Array.from({ length: 64 }, () => 'abc').join('.'))).toBe(false);
  });
});
