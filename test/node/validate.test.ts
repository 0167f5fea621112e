import { describe, expect, it } from 'vitest';
import { sanitizeTable, validateEntry } from '../../src/node/validate.js';
import { selfEntry } from '../../src/node/iptable.js';

const good = { ...selfEntry({ serverPort: 8088 }), IPV4: '203.0.113.5' };

describe('IP table validation', () => {
  it('keeps P2PRC entries and a proxy entry with its reverse-proxy facts', () => {
    const proxy = {
      ...good,
      ProxyServer: true,
      ReverseProxy: {
        ControlPort: 7000,
        Fingerprint: 'AB',
        Tls: true,
        Engine: 'native',
        Open: false,
        Token: 'leak',
        AcceptsClients: true,
        FreePorts: 10,
        Clients: 2,
        Version: '0.1.0',
      },
    };
    const { entries, problems } = sanitizeTable({ ip_address: [good, proxy] });
    expect(problems).toEqual([]);
    expect(entries).toHaveLength(2);
    expect(entries[1]!.ReverseProxy).toMatchObject({ ControlPort: 7000, Open: false });
    expect(entries[1]!.ReverseProxy!.Token).toBeUndefined(); // a restricted host's token is never carried on
  });

  it.each([
    [{ ...good, Name: 42 }, /Name is not a string/],
    [{ ...good, ServerPort: '99999' }, /ServerPort/],
    [{ ...good, IPV4: '', IPV6: '' }, /no address/],
    [{ ...good, CustomInformation: 'x'.repeat(10_000) }, /longer than/],
    [{ ...good, NAT: 'yes' }, /NAT is not a boolean/],
    ['string', /not an object/],
  ])('rejects %#', (entry, reason) => {
    expect(validateEntry(entry)).toMatch(reason);
  });

  it('caps huge tables and rejects non-tables', () => {
    const huge = {
      ip_address: Array.from({ length: 100_000 }, (_, i) => ({ ...good, ServerPort: String(1 + (i % 60000)) })),
    };
    const { entries, problems } = sanitizeTable(huge);
    expect(entries.length).toBe(1000);
    expect(problems[0]).toMatch(/100000 entries/);
    expect(sanitizeTable({ ip_address: 'nope' }).entries).toEqual([]);
    expect(sanitizeTable(null).problems[0]).toMatch(/not an IP table/);
  });
});
