import { P2prcError } from '../errors.js';
import { formatPortRanges, type PortRange } from '../protocol/address.js';

/**
 * frp configuration rendering (pure). frp < 0.52 reads INI (`[common]`, snake_case); 0.52 and later
 * read TOML (camelCase, `[[proxies]]`). The version decides the format.
 */
export interface FrpServerOptions {
  bindAddr: string;
  bindPort: number;
  token: string;
  allowPorts?: PortRange[] | undefined;
  maxPortsPerClient?: number | undefined;
  tcpMux?: boolean;
}

export interface FrpProxy {
  name: string;
  type: 'tcp' | 'udp';
  localIP: string;
  localPort: number;
  remotePort: number;
  useEncryption?: boolean;
  useCompression?: boolean;
}

/** frpc's admin API on 127.0.0.1 (`/api/status` says which port frps gave a remote_port 0), behind basic auth. */
export interface FrpAdminApi {
  port: number;
  user: string;
  password: string;
}

export interface FrpClientOptions {
  serverAddr: string;
  serverPort: number;
  token: string;
  tls?: boolean;
  tcpMux?: boolean;
  admin?: FrpAdminApi | undefined;
  proxies: FrpProxy[];
}

export type FrpConfigFormat = 'ini' | 'toml';

/** "0.31.2" → [0, 31, 2]; throws E_FRP_VERSION on anything else. */
export function parseFrpVersion(text: string): [number, number, number] {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (!m) throw new P2prcError('E_FRP_VERSION', `cannot read an frp version from "${text.trim().slice(0, 80)}"`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export function compareVersions(a: string, b: string): number {
  const x = parseFrpVersion(a);
  const y = parseFrpVersion(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

export function configFormatFor(version: string): FrpConfigFormat {
  return compareVersions(version, '0.52.0') < 0 ? 'ini' : 'toml';
}

/** INI values cannot be quoted in frp's parser: refuse anything that could start a new line or section. */
function iniValue(key: string, value: string | number | boolean): string {
  const text = String(value);
  if (/[\r\n\0]/.test(text) || text !== text.trim() || /^[;#[]/.test(text)) {
    throw new P2prcError(
      'E_CONFIG',
      `frp option ${key} has a value that cannot be written to an INI file: ${JSON.stringify(text)}`,
    );
  }
  return `${key} = ${text}`;
}

function sectionName(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name))
    throw new P2prcError('E_CONFIG', `frp proxy name ${JSON.stringify(name)} must be 1-64 of A-Z a-z 0-9 _ . -`);
  return name;
}

function tomlString(value: string): string {
  return JSON.stringify(value)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function renderServerConfig(o: FrpServerOptions, format: FrpConfigFormat): string {
  if (format === 'ini') {
    const lines = [
      '[common]',
      iniValue('bind_addr', o.bindAddr),
      iniValue('bind_port', o.bindPort),
      iniValue('token', o.token),
    ];
    if (o.allowPorts?.length) lines.push(iniValue('allow_ports', formatPortRanges(o.allowPorts)));
    if (o.maxPortsPerClient) lines.push(iniValue('max_ports_per_client', o.maxPortsPerClient));
    if (o.tcpMux !== undefined) lines.push(iniValue('tcp_mux', o.tcpMux));
    lines.push('log_file = console', 'log_level = info');
    return `${lines.join('\n')}\n`;
  }
  const lines = [
    `bindAddr = ${tomlString(o.bindAddr)}`,
    `bindPort = ${o.bindPort}`,
    `auth.token = ${tomlString(o.token)}`,
  ];
  if (o.allowPorts?.length) {
    lines.push(
      `allowPorts = [${o.allowPorts.map((r) => (r.start === r.end ? `{ single = ${r.start} }` : `{ start = ${r.start}, end = ${r.end} }`)).join(', ')}]`,
    );
  }
  if (o.maxPortsPerClient) lines.push(`maxPortsPerClient = ${o.maxPortsPerClient}`);
  if (o.tcpMux !== undefined) lines.push(`transport.tcpMux = ${o.tcpMux}`);
  lines.push('log.to = "console"', 'log.level = "info"');
  return `${lines.join('\n')}\n`;
}

export function renderClientConfig(o: FrpClientOptions, format: FrpConfigFormat): string {
  if (format === 'ini') {
    const lines = [
      '[common]',
      iniValue('server_addr', o.serverAddr),
      iniValue('server_port', o.serverPort),
      iniValue('token', o.token),
    ];
    lines.push(
      iniValue('tls_enable', o.tls ?? false),
      'login_fail_exit = false',
      'log_file = console',
      'log_level = info',
    );
    if (o.tcpMux !== undefined) lines.push(iniValue('tcp_mux', o.tcpMux));
    if (o.admin)
      lines.push(
        'admin_addr = 127.0.0.1',
        iniValue('admin_port', o.admin.port),
        iniValue('admin_user', o.admin.user),
        iniValue('admin_pwd', o.admin.password),
      );
    for (const p of o.proxies) {
      lines.push(
        '',
        `[${sectionName(p.name)}]`,
        iniValue('type', p.type),
        iniValue('local_ip', p.localIP),
        iniValue('local_port', p.localPort),
        iniValue('remote_port', p.remotePort),
      );
      if (p.useEncryption) lines.push('use_encryption = true');
      if (p.useCompression) lines.push('use_compression = true');
    }
    return `${lines.join('\n')}\n`;
  }
  const lines = [
    `serverAddr = ${tomlString(o.serverAddr)}`,
    `serverPort = ${o.serverPort}`,
    `auth.token = ${tomlString(o.token)}`,
    'loginFailExit = false',
  ];
  lines.push(`transport.tls.enable = ${o.tls ?? false}`, 'log.to = "console"', 'log.level = "info"');
  if (o.tcpMux !== undefined) lines.push(`transport.tcpMux = ${o.tcpMux}`);
  if (o.admin)
    lines.push(
      'webServer.addr = "127.0.0.1"',
      `webServer.port = ${o.admin.port}`,
      `webServer.user = ${tomlString(o.admin.user)}`,
      `webServer.password = ${tomlString(o.admin.password)}`,
    );
  for (const p of o.proxies) {
    lines.push(
      '',
      '[[proxies]]',
      `name = ${tomlString(sectionName(p.name))}`,
      `type = ${tomlString(p.type)}`,
      `localIP = ${tomlString(p.localIP)}`,
      `localPort = ${p.localPort}`,
      `remotePort = ${p.remotePort}`,
    );
    if (p.useEncryption) lines.push('transport.useEncryption = true');
    if (p.useCompression) lines.push('transport.useCompression = true');
  }
  return `${lines.join('\n')}\n`;
}
