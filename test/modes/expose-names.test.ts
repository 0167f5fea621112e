import { describe, expect, it } from 'vitest';
import { parseExpose } from '../../src/protocol/parse-address.js';
import { checkExposeNames, exposeTunnels } from '../../src/modes/node-publish.js';

describe('named --expose tunnels', () => {
  it('reads name=<spec> for every kind; without a name one is derived', () => {
    expect(parseExpose('web=http:13000@app')).toEqual({
      name: 'web',
      protocol: 'http',
      localPort: 13000,
      remotePort: 'any',
      domain: 'app',
    });
    expect(parseExpose('db=5432:6001')).toMatchObject({
      name: 'db',
      protocol: 'tcp',
      localPort: 5432,
      remotePort: 6001,
    });
    expect(parseExpose('dns_1.a-b=udp:5353')).toMatchObject({ name: 'dns_1.a-b', protocol: 'udp' });
    expect(exposeTunnels(['db=5432', '3000', 'http:3000@x'].map(parseExpose)).map((t) => t.name)).toEqual([
      'db',
      'expose-3000',
      'expose-http-3000',
    ]);
  });

  it('refuses a bad name with E_USAGE naming it', () => {
    for (const bad of ['=3000', 'a b=3000', 'web!=3000', `${'x'.repeat(65)}=3000`, 'é=3000']) {
      expect(() => parseExpose(bad)).toThrow(
        expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining('invalid tunnel name') }),
      );
    }
    expect(parseExpose(`${'x'.repeat(64)}=3000`).name).toHaveLength(64);
  });

  it('one local port under two domains works once named; a duplicate name is E_USAGE naming it', () => {
    const twoDomains = ['http:13000@app', 'http:13000@www.other.org'];
    expect(() => checkExposeNames(twoDomains.map(parseExpose))).toThrow(
      expect.objectContaining({
        code: 'E_USAGE',
        message: expect.stringMatching(/"expose-http-13000" is used twice \(name each with --expose <name>=<spec>\)/),
      }),
    );
    expect(exposeTunnels(['app=http:13000@app', 'www=http:13000@www.other.org'].map(parseExpose))).toHaveLength(2);
    expect(() => checkExposeNames(['web=3000', 'web=3001'].map(parseExpose))).toThrow(
      expect.objectContaining({ code: 'E_USAGE', message: 'tunnel name "web" is used twice' }),
    );
    expect(() => checkExposeNames([parseExpose('node=3000')])).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });
});
