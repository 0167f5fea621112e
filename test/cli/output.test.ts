import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import * as lib from '../../src/index.js';
import {
  EXIT_CODES,
  ERROR_CODES,
  P2prcError,
  type ErrorCode,
  type HostService,
  type MappingView,
  type PublishedTunnel,
  type ServerView,
} from '../../src/index.js';
import { ago, formatTable, reportError, type Output } from '../../src/cli/output.js';
import { publishedLine, serviceLines } from '../../src/cli/connect.js';
import { hostBanner } from '../../src/cli/host.js';
import { mappingTable } from '../../src/cli/view-rpm.js';
import { serverTable, shortFingerprint } from '../../src/cli/view-rps.js';
import { servicesText } from '../../src/cli/services.js';

function capture(verbose = false): Output & { lines: string[] } {
  const lines: string[] = [];
  return { lines, verbose, out: (l) => lines.push(`out ${l}`), err: (l) => lines.push(`err ${l}`) };
}

const NOW = Date.parse('2026-01-02T03:04:05.000Z');
const minutesAgo = (m: number) => new Date(NOW - m * 60_000).toISOString();

describe('exit-code mapping', () => {
  it('every code exits with its documented status and prints one "p2prc: error CODE:" line', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const o = capture();
      expect(reportError(new P2prcError(code, 'what happened'), o)).toBe(EXIT_CODES[code]);
      expect(o.lines).toEqual([`err p2prc: error ${code}: what happened`]);
    }
    expect(EXIT_CODES.E_USAGE).toBe(2);
    expect(EXIT_CODES.E_AUTH).toBe(3);
    expect(EXIT_CODES.E_FRP_MISSING).toBe(7);
  });

  it('a failure without a code is E_INTERNAL, exit 1, never 0; --verbose adds the cause chain', () => {
    const plain = capture();
    expect(reportError(new Error('boom'), plain)).toBe(1);
    expect(plain.lines).toEqual(['err p2prc: error E_INTERNAL: boom']);
    const verbose = capture(true);
    const root = Object.assign(new Error('EISDIR: illegal operation on a directory'), { name: 'Error' });
    expect(
      reportError(new P2prcError('E_CONFIG', 'cannot write /x/reverse_proxy_mapping.json', { cause: root }), verbose),
    ).toBe(2);
    expect(verbose.lines).toEqual([
      'err p2prc: error E_CONFIG: cannot write /x/reverse_proxy_mapping.json',
      'err   caused by: Error: EISDIR: illegal operation on a directory',
    ]);
  });
});

describe('command output', () => {
  const tcp: PublishedTunnel = {
    name: 'node',
    protocol: 'tcp',
    localHost: '127.0.0.1',
    localPort: 8088,
    publicHost: '203.0.113.10',
    remotePort: 23817,
    publicAddress: '203.0.113.10:23817',
  } as PublishedTunnel;

  it('Published lines, plain and JSON, naming the tunnel, with "udp" for UDP tunnels', () => {
    expect(publishedLine(tcp, false)).toBe(`Published: 203.0.113.10:23817 -> 127.0.0.1:8088 (${tcp.name})`);
    expect(publishedLine({ ...tcp, protocol: 'udp' }, false)).toBe(
      `Published: 203.0.113.10:23817 -> 127.0.0.1:8088 (${tcp.name}, udp)`,
    );
    expect(JSON.parse(publishedLine(tcp, true, 'republished'))).toMatchObject({
      event: 'republished',
      name: 'node',
      remotePort: 23817,
    });
  });

  it('an offered service shows its secret only when it was generated', () => {
    expect(serviceLines('db', '127.0.0.1:7000', { target: 5432, secret: 's3', generated: true }, false)).toEqual([
      'Service: db via 127.0.0.1:7000 -> 127.0.0.1:5432',
      'Secret: s3',
      'Visit with: p2prc --visit db --host 127.0.0.1:7000 --token <token> --secret <secret> --local-port <port>',
    ]);
    expect(serviceLines('db', 'h:1', { target: 1, secret: 's3', generated: false }, false).join('\n')).not.toContain(
      's3',
    );
    expect(JSON.parse(serviceLines('db', 'h:1', { target: 1, secret: 's3', generated: false }, true)[0]!)).toEqual({
      event: 'service',
      id: 'db',
      host: 'h:1',
      local: 1,
    });
  });

  it("the host banner names the token's origin, TLS state and node server", () => {
    const service = {
      handle: {
        engine: 'native',
        id: 'h',
        port: 7000,
        bind: '0.0.0.0',
        token: 'tok',
        tokenGenerated: true,
        tokenPath: '/c/host/token.txt',
        fingerprint: 'AB:CD',
        tls: true,
        logs: new EventEmitter(),
      },
      publicHost: '203.0.113.10',
      controlAddress: '0.0.0.0:7000',
      connectCommand: 'p2prc -s --connect-reverse-proxy 203.0.113.10:7000 --token tok',
      nodePort: 8088,
      warnings: [],
    } as unknown as HostService;
    const banner = hostBanner(service, '6000-6100', false);
    expect(banner).toContain('  Token:            tok  (generated, stored in /c/host/token.txt)');
    expect(banner).toContain('  TLS:              on, fingerprint AB:CD');
    expect(banner).toContain('  Allowed ports:    6000-6100');
    expect(banner).toContain('  Node server:      http://203.0.113.10:8088/ip_table');
    const given = {
      ...service,
      handle: { ...service.handle, tokenPath: undefined, tls: false },
      nodePort: undefined,
    } as unknown as HostService;
    const plain = hostBanner(given, 'any', false).split('\n');
    expect(plain).toContain('  Token:            tok  (from --token, P2PRC_TOKEN or the config)');
    expect(plain).toContain('  TLS:              off (plaintext)');
    expect(plain).toContain('  Node server:      off');
    expect(JSON.parse(hostBanner(given, 'any', true))).toMatchObject({
      event: 'host-started',
      port: 7000,
      tokenPath: null,
      nodePort: null,
      tls: false,
    });
  });

  it('the mapping and server tables: aligned, upper-case headers, IPv6 in brackets, ages', () => {
    const m = {
      id: 'x',
      name: 'node',
      kind: 'tunnel',
      protocol: 'tcp',
      engine: 'native',
      localHost: '::1',
      localPort: 8088,
      publicHost: '203.0.113.10',
      publicPort: 6001,
      proxyHost: '203.0.113.10',
      proxyControlPort: 7000,
      pid: 42,
      createdAt: minutesAgo(3),
      updatedAt: minutesAgo(3),
      status: 'active',
      state: 'stale',
    } as MappingView;
    const visitor = { ...m, name: 'db', kind: 'visitor', publicPort: null, path: 'direct' } as MappingView;
    const table = mappingTable(
      lib,
      [m, { ...m, name: 'svc', kind: 'service', publicPort: null, state: 'closed' }, visitor],
      NOW,
    ).split('\n');
    expect(table[0]).toMatch(/^NAME +KIND +PROTO +LOCAL +PUBLIC +PROXY HOST +ENGINE +PATH +PID +CREATED +STATE$/);
    expect(table[1]).toMatch(
      /^node +tunnel +tcp +\[::1\]:8088 +203\.0\.113\.10:6001 +203\.0\.113\.10:7000 +native +- +42 +3m ago +stale$/,
    );
    // a visitor's row says which path its connections take (direct / relayed)
    expect(table[3]).toMatch(/^db +visitor .* native +direct +42 /);
    expect(table[2]).toMatch(/^svc +service .* - +203\.0\.113\.10:7000 .*closed$/);
    expect(table[1]!.indexOf('tcp')).toBe(table[0]!.indexOf('PROTO'));
    const s = {
      id: 'a',
      address: '127.0.0.1',
      controlPort: 7000,
      fingerprint: 'AB:CD:EF:01:23:45',
      tls: true,
      version: '0.1.0',
      engine: 'native',
      source: 'local',
      firstSeen: minutesAgo(120),
      lastSeen: minutesAgo(120),
      state: 'alive',
      latencyMs: 3,
    } as ServerView;
    const rows = serverTable([s, { ...s, tls: false, version: null, latencyMs: null, state: 'down' }], NOW).split('\n');
    expect(rows[1]).toMatch(/^127\.0\.0\.1 +7000 +AB:CD:EF:01… +0\.1\.0 +2h ago +alive \(3 ms\)$/);
    expect(rows[2]).toMatch(/no tls +- +2h ago +down$/);
    expect(shortFingerprint(null)).toBe('-');
  });

  it('the services list: table, JSON, or a line saying there are none', () => {
    expect(servicesText([], false)).toBe('No services registered on this host.');
    const list = [{ id: 'db', description: '', owner: 'alice', online: true, since: minutesAgo(0.5) }];
    expect(servicesText(list as never, false, NOW).split('\n')[1]).toMatch(/^db +- +alice +online +30s ago$/);
    expect(JSON.parse(servicesText(list as never, true))).toEqual({ services: list });
  });

  it('formatTable and ago', () => {
    expect(formatTable(['a', 'long header'], [['xyz', 'v']])).toBe('A    LONG HEADER\nxyz  v');
    expect([
      ago(undefined),
      ago('nonsense'),
      ago(minutesAgo(0), NOW),
      ago(minutesAgo(61), NOW),
      ago(minutesAgo(60 * 49), NOW),
    ]).toEqual(['-', '-', '0s ago', '1h ago', '2d ago']);
  });
});
