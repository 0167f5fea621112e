import { describe, expect, it } from 'vitest';
import ini from 'ini';
import { parse as parseToml } from 'smol-toml';
import { configFormatFor, renderClientConfig, renderServerConfig } from '../../src/frp/config.js';
import { classifyFrpLine } from '../../src/frp/logs.js';

const server = {
  bindAddr: '127.0.0.1',
  bindPort: 7000,
  token: 's3cret=x',
  allowPorts: [
    { start: 6000, end: 6100 },
    { start: 7001, end: 7001 },
  ],
  maxPortsPerClient: 5,
};
const client = {
  serverAddr: '203.0.113.10',
  serverPort: 7000,
  token: 's3cret=x',
  tls: true,
  proxies: [
    {
      name: 'node',
      type: 'tcp' as const,
      localIP: '127.0.0.1',
      localPort: 8088,
      remotePort: 6001,
      useEncryption: true,
    },
    { name: 'dns', type: 'udp' as const, localIP: '127.0.0.1', localPort: 53, remotePort: 6053 },
  ],
};

describe('frp config rendering', () => {
  it('picks INI before 0.52 and TOML from 0.52', () => {
    expect(configFormatFor('0.31.2')).toBe('ini');
    expect(configFormatFor('0.51.3')).toBe('ini');
    expect(configFormatFor('0.52.0')).toBe('toml');
    expect(configFormatFor('frpc version 0.61.1')).toBe('toml');
  });

  it('INI for frps and frpc means what the options say', () => {
    const s = ini.parse(renderServerConfig(server, 'ini'));
    expect(s.common).toMatchObject({
      bind_addr: '127.0.0.1',
      bind_port: '7000',
      token: 's3cret=x',
      allow_ports: '6000-6100,7001',
      max_ports_per_client: '5',
    });
    const c = ini.parse(renderClientConfig(client, 'ini'));
    expect(c.common).toMatchObject({
      server_addr: '203.0.113.10',
      server_port: '7000',
      token: 's3cret=x',
      tls_enable: true,
      login_fail_exit: false,
    });
    expect(c.node).toMatchObject({
      type: 'tcp',
      local_ip: '127.0.0.1',
      local_port: '8088',
      remote_port: '6001',
      use_encryption: true,
    });
    expect(c.dns).toMatchObject({ type: 'udp', remote_port: '6053' });
  });

  it('TOML for frps and frpc means what the options say', () => {
    const s = parseToml(renderServerConfig(server, 'toml')) as Record<
      string,
      Record<string, unknown> & Array<Record<string, unknown>>
    >;
    expect(s).toMatchObject({
      bindAddr: '127.0.0.1',
      bindPort: 7000,
      auth: { token: 's3cret=x' },
      maxPortsPerClient: 5,
    });
    expect(s.allowPorts).toEqual([{ start: 6000, end: 6100 }, { single: 7001 }]);
    const c = parseToml(renderClientConfig(client, 'toml')) as Record<
      string,
      Record<string, unknown> & Array<Record<string, unknown>>
    >;
    expect(c).toMatchObject({
      serverAddr: '203.0.113.10',
      serverPort: 7000,
      auth: { token: 's3cret=x' },
      loginFailExit: false,
      transport: { tls: { enable: true } },
    });
    expect(c.proxies).toEqual([
      {
        name: 'node',
        type: 'tcp',
        localIP: '127.0.0.1',
        localPort: 8088,
        remotePort: 6001,
        transport: { useEncryption: true },
      },
      { name: 'dns', type: 'udp', localIP: '127.0.0.1', localPort: 53, remotePort: 6053 },
    ]);
  });

  it("turns frpc's admin API on at 127.0.0.1 behind basic auth: admin_* in INI, webServer in TOML", () => {
    const admin = { port: 7400, user: 'p2prc', password: 'pw' };
    expect(ini.parse(renderClientConfig({ ...client, admin }, 'ini')).common).toMatchObject({
      admin_addr: '127.0.0.1',
      admin_port: '7400',
      admin_user: 'p2prc',
      admin_pwd: 'pw',
    });
    expect(parseToml(renderClientConfig({ ...client, admin }, 'toml'))).toMatchObject({
      webServer: { addr: '127.0.0.1', port: 7400, user: 'p2prc', password: 'pw' },
    });
    expect(renderClientConfig(client, 'ini')).not.toMatch(/admin_/);
    expect(renderClientConfig(client, 'toml')).not.toMatch(/webServer/);
  });

  it('escapes TOML strings and refuses values that would inject INI lines', () => {
    const tricky = 'a"b\\c\nd';
    const c = parseToml(renderClientConfig({ ...client, token: tricky }, 'toml')) as Record<
      string,
      Record<string, unknown> & Array<Record<string, unknown>>
    >;
    expect(c.auth.token).toBe(tricky);
    expect(() => renderClientConfig({ ...client, token: 'x\n[evil]' }, 'ini')).toThrow(
      expect.objectContaining({ code: 'E_CONFIG' }),
    );
    expect(() => renderClientConfig({ ...client, proxies: [{ ...client.proxies[0]!, name: 'a]b' }] }, 'ini')).toThrow(
      expect.objectContaining({ code: 'E_CONFIG' }),
    );
  });
});

describe('frp log classification (lines captured from frp 0.31.2)', () => {
  it.each([
    ['2026/11/24 23:03:15 \x1b[1;34m[I] [root.go:205] start frps success\x1b[0m', { kind: 'server-ready' }],
    [
      '2026/11/24 23:03:16 [I] [service.go:250] [9ffd25aa76f8f41d] login to server success, get run id [9ffd25aa76f8f41d], server udp port [0]',
      { kind: 'login' },
    ],
    [
      '2026/11/24 23:03:16 [I] [control.go:164] [9ffd25aa76f8f41d] [web] start proxy success',
      { kind: 'proxy-ready', proxy: 'web' },
    ],
  ])('%s', (line, expected) => {
    expect(classifyFrpLine(line)).toEqual(expected);
  });

  it.each([
    ['2026/11/24 23:03:18 [W] [service.go:97] login to server failed: authorization failed', 'E_AUTH'],
    [
      '2026/11/24 23:03:22 [W] [service.go:97] login to server failed: dial tcp 127.0.0.1:17999: connect: connection refused',
      'E_UNREACHABLE',
    ],
    ['2026/11/24 23:03:20 [W] [control.go:162] [46aba6fe6679466e] [web] start error: port unavailable', 'E_PORT_TAKEN'],
    ['[W] [control.go:162] [x] [web] start error: port already used', 'E_PORT_TAKEN'],
    ['[W] [control.go:162] [x] [web] start error: port not allowed', 'E_PORT_DENIED'],
    ['Create server listener error, listen tcp 127.0.0.1:17100: bind: address already in use', 'E_PORT_TAKEN'],
  ])('%s -> %s', (line, code) => {
    const e = classifyFrpLine(line);
    expect(e?.kind).toBe('error');
    expect(e?.kind === 'error' && e.error.code).toBe(code);
  });

  it('ignores ordinary lines', () => {
    expect(classifyFrpLine('2026/11/24 [I] [proxy_manager.go:144] proxy added: [web]')).toBeUndefined();
  });
});
