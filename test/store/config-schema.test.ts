import { describe, expect, it } from 'vitest';
import { checkConfig, configViolations } from '../../src/store/config-schema.js';

describe('configViolations (pure): the shape config.json may hold', () => {
  it('accepts an empty file, every known key with its type, and keys it does not know', () => {
    expect(configViolations({})).toEqual([]);
    expect(
      configViolations({
        token: 't',
        controlPort: 65535,
        preferredHosts: ['h:1'],
        hostTokens: { 'h:1': 't' },
        fingerprints: { 'h:1': 'AB' },
        refusals: { 'h:1': '2026-11-27T00:00:00Z' },
        trustedFingerprints: ['AB'],
        IPTable: '/p2prc/p2p/iptable/ip_table.json',
        ServerPort: '8088',
        __internal__: { migrations: {} },
        future: 1,
        // What P2PRC's Go writes there besides (config/config.go's Config).
        MachineName: 'node-x',
        BehindNAT: true,
        CustomConfig: null,
      }),
    ).toEqual([]);
  });

  it.each([
    [{ token: '' }, '`token` must NOT have fewer than 1 characters'],
    [{ token: 5 }, '`token` must be string'],
    [{ IPTable: 5 }, '`IPTable` must be string'],
    [{ ServerPort: 8088 }, '`ServerPort` must be string'],
    [{ controlPort: 'seven' }, '`controlPort` must be integer'],
    [{ controlPort: 1.5 }, '`controlPort` must be integer'],
    [{ controlPort: 0 }, '`controlPort` must be >= 1'],
    [{ controlPort: 70000 }, '`controlPort` must be <= 65535'],
    [{ preferredHosts: 'h:1' }, '`preferredHosts` must be array'],
    [{ preferredHosts: ['h:1', 2] }, '`preferredHosts/1` must be string'],
    [{ hostTokens: ['t'] }, '`hostTokens` must be object'],
    [{ hostTokens: { 'h:1': 5 } }, '`hostTokens/h:1` must be string'],
    [{ fingerprints: null }, '`fingerprints` must be object'],
    [{ refusals: { a: {} } }, '`refusals/a` must be string'],
    [{ trustedFingerprints: [null] }, '`trustedFingerprints/0` must be string'],
  ])('%j: %s', (value, message) => expect(configViolations(value)).toEqual([message]));

  it('names every broken rule at once, and refuses anything but an object', () => {
    expect(configViolations({ token: '', controlPort: 0 })).toHaveLength(2);
    for (const v of [null, [], 'x', 3]) expect(configViolations(v)).toEqual(['the file must hold a JSON object']);
  });

  it('checkConfig returns what it was given, or throws with the violations', () => {
    const ok = { controlPort: 7000 };
    expect(checkConfig(ok)).toBe(ok);
    expect(() => checkConfig({ controlPort: 0 })).toThrow('Config schema violation: `controlPort` must be >= 1');
  });
});
