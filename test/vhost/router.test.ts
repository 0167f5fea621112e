import { describe, expect, it } from 'vitest';
import { claimedDomains, hostOnly, VhostRouter } from '../../src/vhost/router.js';
import { basicAuthOk, forwardHeaders, requestHost, requestPath, responseHeaders } from '../../src/vhost/headers.js';

describe('VhostRouter (pure)', () => {
  const r = new VhostRouter<string>();
  r.add('127.0.0.1', '', 'web01');
  r.add('test3.frp.com', '', 'web03');
  r.add('test3.frp.com', '/foo', 'web03foo');
  r.add('test3.frp.com', '/bar', 'web04');
  r.add('*.frp1.com', '', 'wild');
  r.add('Test01.Sub.com', '', 'sub01');

  it.each([
    ['127.0.0.1:10804', '/', 'web01'],
    ['127.0.0.1', '/anything', 'web01'],
    ['test3.frp.com', '/', 'web03'],
    ['test3.frp.com', '/foo/x', 'web03foo'], // longest prefix wins over ''
    ['TEST3.frp.com:80', '/bar', 'web04'],
    ['test.frp1.com', '/', 'wild'],
    ['new.test.frp1.com', '/', 'wild'], // *.test.frp1.com, then *.frp1.com
    ['test01.sub.com', '/', 'sub01'],
  ])('%s %s -> %s', (host, path, want) => expect(r.match(host, path)).toBe(want));

  it.each([['errorhost.frp.com'], ['frp1.com'], ['x.frp2.com'], ['']])('%s -> none (404)', (host) =>
    expect(r.match(host, '/')).toBeUndefined(),
  );

  it('refuses a second route for the same domain and location, and forgets removed ones', () => {
    expect(() => r.add('test3.frp.com', '/foo', 'again')).toThrow(expect.objectContaining({ code: 'E_CONFLICT' }));
    const local = new VhostRouter<string>();
    local.add('a.example', '/x', 'x');
    local.remove('a.example', '/x');
    expect(local.match('a.example', '/x')).toBeUndefined();
    expect(local.size).toBe(0);
  });

  it('a location takes its path and the paths below it, not longer names; one ending in / is a prefix', () => {
    const local = new VhostRouter<string>();
    local.add('a.example', '', 'root');
    local.add('a.example', '/login', 'login');
    local.add('a.example', '/static/', 'static');
    expect(
      ['/login', '/login/x', '/loginx', '/static/a.css', '/static'].map((p) => local.match('a.example', p)),
    ).toEqual(['login', 'login', 'root', 'static', 'root']);
  });

  it('a domain takes routes of the principal that holds it only, until its last route is gone', () => {
    const local = new VhostRouter<string>();
    const off = local.claim(['a.example'], [''], 'victim', 'addr:10.0.0.1');
    expect(() => local.claim(['b.example', 'a.example'], ['/login'], 'thief', 'addr:10.0.0.2')).toThrow(
      expect.objectContaining({ code: 'E_CONFLICT' }),
    );
    expect(local.match('b.example', '/login')).toBeUndefined(); // all or none
    const mine = local.claim(['a.example'], ['/api'], 'victim-api', 'addr:10.0.0.1');
    off();
    mine();
    expect(local.size).toBe(0);
    local.claim(['a.example'], [''], 'next', 'addr:10.0.0.2');
    expect(local.match('a.example', '/')).toBe('next');
  });

  it('claim takes every domain x location or none, and gives back only what it took', () => {
    const local = new VhostRouter<string>();
    const off = local.claim(['a.example', 'b.example'], [], 'first');
    expect(() => local.claim(['c.example', 'B.Example'], [], 'second')).toThrow(
      expect.objectContaining({ code: 'E_CONFLICT' }),
    );
    expect(local.match('c.example', '')).toBeUndefined(); // the part claimed before the conflict was given back
    expect(local.match('b.example', '')).toBe('first');
    local.claim(['a.example'], ['/x'], 'path'); // another location of an http domain is another route
    off();
    expect(local.size).toBe(1);
    expect(local.match('a.example', '/x/y')).toBe('path');
  });

  it('routes a server name (location "") as a Host: exact first, then wildcards, never a bare parent', () => {
    const sni = new VhostRouter<string>();
    sni.claim(['*.example.com'], [], 'wild');
    sni.claim(['app.example.com'], [], 'app');
    expect(sni.match('app.example.com', '')).toBe('app');
    expect(sni.match('x.y.example.com', '')).toBe('wild');
    expect(sni.match('example.com', '')).toBeUndefined();
  });

  it('hostOnly strips ports and brackets', () => {
    expect(hostOnly('[::1]:80')).toBe('::1');
    expect(hostOnly('Example.COM:8080')).toBe('example.com');
    expect(hostOnly('::1')).toBe('::1');
  });

  it('claimedDomains adds subdomain.subdomain_host, and needs a subdomain host for it', () => {
    expect(claimedDomains(['A.com'], 'test01', 'sub.com')).toEqual(['a.com', 'test01.sub.com']);
    expect(() => claimedDomains([], 'x', undefined)).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(() => claimedDomains([], 'a.b', 'sub.com')).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(() => claimedDomains([''], undefined, 'sub.com')).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });

  it('claimedDomains refuses squatting: a * subdomain, a custom domain under the subdomain host, names that are not host names', () => {
    const refused = (custom: string[], sub?: string) => () => claimedDomains(custom, sub, 'Sub.com');
    expect(refused([], '*')).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(refused([], 'a*')).toThrow(/'\.' and '\*' are not supported in subdomain/);
    expect(refused(['victim.sub.com'])).toThrow(
      'custom domain [victim.sub.com] should not belong to subdomain host [sub.com]',
    );
    expect(refused(['*.sub.com'])).toThrow(/should not belong to subdomain host/);
    for (const bad of [
      'x<img src=x>.test',
      '*',
      'a.*.com',
      '-a.com',
      'a..com',
      'a.com.',
      `${'a'.repeat(64)}.com`,
      `${'a.'.repeat(127)}com`,
    ])
      expect(refused([bad]), bad).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(refused([], 'a_b')).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(claimedDomains(['*.Example.com', 'sub.com', '127.0.0.1', 'x-1.a.b'], 'app', 'sub.com')).toEqual([
      '*.example.com',
      'sub.com',
      '127.0.0.1',
      'x-1.a.b',
      'app.sub.com',
    ]);
  });
});

describe('vhost headers (pure)', () => {
  it('drops hop-by-hop and Connection-named headers, rewrites Host, sets configured headers, extends X-Forwarded-For', () => {
    const raw = [
      'Host',
      'a.com',
      'Connection',
      'keep-alive, X-Secret',
      'X-Secret',
      's',
      'Keep-Alive',
      '5',
      'X-From-Where',
      'visitor',
      'Accept',
      '*/*',
      'X-Forwarded-For',
      '10.0.0.1',
      'Transfer-Encoding',
      'chunked',
    ];
    expect(
      forwardHeaders(raw, { rewriteHost: 'b.com', headers: { 'X-From-Where': 'frp' }, clientIp: '127.0.0.1' }),
    ).toEqual(['Host', 'b.com', 'Accept', '*/*', 'X-From-Where', 'frp', 'X-Forwarded-For', '10.0.0.1, 127.0.0.1']);
    expect(
      forwardHeaders(['Host', 'a', 'Upgrade', 'websocket', 'Connection', 'Upgrade'], { upgrade: 'websocket' }),
    ).toEqual(['Host', 'a', 'Connection', 'Upgrade', 'Upgrade', 'websocket']);
    expect(responseHeaders(['Content-Length', '3', 'Connection', 'close', 'X-Header-Set', 'true'])).toEqual([
      'Content-Length',
      '3',
      'X-Header-Set',
      'true',
    ]);
  });

  it('basic auth as frp: open without user and password; otherwise exactly both, an empty password included', () => {
    const b = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    expect(basicAuthOk(undefined, undefined, undefined)).toBe(true);
    expect(basicAuthOk('test', '', b('test:test'))).toBe(false); // the suite's web05
    expect(basicAuthOk('test', '', undefined)).toBe(false);
    expect(basicAuthOk('test', '', b('test:'))).toBe(true);
    expect(basicAuthOk('u', 'p', b('u:p'))).toBe(true);
    expect(basicAuthOk('u', 'p', 'Bearer x')).toBe(false);
  });

  it('request targets: origin and absolute form', () => {
    expect(requestPath('/foo/bar?x=1')).toBe('/foo/bar');
    expect(requestPath('http://a.com:80/foo?x')).toBe('/foo');
    expect(requestPath('http://a.com')).toBe('/');
    expect(requestHost('http://a.com:81/x', 'b.com')).toBe('a.com:81');
    expect(requestHost('/x', 'b.com')).toBe('b.com');
  });
});
