import { describe, expect, it } from 'vitest';
import { parseExpose, parseHostPort } from '../../src/protocol/parse-address.js';
import { addressOf, formatAddress } from '../../src/protocol/address.js';

describe('host:port parsing', () => {
  it('reads IPv4, names, bracketed and bare IPv6, with and without a port', () => {
    expect(parseHostPort('127.0.0.1', 7000)).toEqual({ host: '127.0.0.1', port: 7000 });
    expect(parseHostPort(' 127.0.0.1:7443 ', 7000)).toEqual({ host: '127.0.0.1', port: 7443 });
    expect(parseHostPort('localhost:8080', 7000)).toEqual({ host: 'localhost', port: 8080 });
    expect(parseHostPort('[::1]:9000', 7000)).toEqual({ host: '::1', port: 9000 });
    expect(parseHostPort('[::1]', 7000)).toEqual({ host: '::1', port: 7000 });
    expect(parseHostPort('::1', 7000)).toEqual({ host: '::1', port: 7000 });
  });

  it('refuses bad input with E_USAGE naming what was parsed and the input', () => {
    for (const bad of ['', ':7000', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:x', 'a b:1', 'http://h:1', '[::1]:']) {
      expect(() => parseHostPort(bad, 7000, '--host')).toThrow(
        expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining(`--host "${bad}"`) }),
      );
    }
  });
});

describe('--expose parsing', () => {
  it('reads local, local:remote and a udp: prefix', () => {
    expect(parseExpose('3000')).toEqual({ protocol: 'tcp', localPort: 3000, remotePort: 'any' });
    expect(parseExpose('3000:6000')).toEqual({ protocol: 'tcp', localPort: 3000, remotePort: 6000 });
    expect(parseExpose('udp:5000')).toEqual({ protocol: 'udp', localPort: 5000, remotePort: 'any' });
    expect(parseExpose('tcp:1:65535')).toEqual({ protocol: 'tcp', localPort: 1, remotePort: 65535 });
  });

  it('reads http and https services by domain, case folded, wildcards and bare subdomain names included', () => {
    expect(parseExpose('http:3000@App.Example.com')).toEqual({
      protocol: 'http',
      localPort: 3000,
      remotePort: 'any',
      domain: 'app.example.com',
    });
    expect(parseExpose('https:3443@*.example.com')).toEqual({
      protocol: 'https',
      localPort: 3443,
      remotePort: 'any',
      domain: '*.example.com',
    });
    expect(parseExpose('https:3443@app')).toMatchObject({ protocol: 'https', domain: 'app' });
    for (const bad of ['https:3443', 'https:0@a.b', 'https:3443@', 'https:3443@a b', 'httpss:1@a.b', 'https:1@-a.b-']) {
      expect(() => parseExpose(bad)).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    }
  });

  it('refuses ports out of range and anything else with E_USAGE', () => {
    for (const bad of ['0', '70000', '3000:0', '3000:70000', 'sctp:3000', '3000:', ':3000', 'abc', '1:2:3']) {
      expect(() => parseExpose(bad)).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    }
  });
});

describe('addressOf', () => {
  it('takes the address of formatAddress output back, IPv6 without its brackets', () => {
    for (const host of ['127.0.0.1', '::1', '::ffff:127.0.0.1', 'example.org'])
      expect(addressOf(formatAddress(host, 7000))).toBe(host);
  });
});
