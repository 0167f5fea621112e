import { EventEmitter } from 'node:events';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startHost, type HostEndpoint } from '../host/start.js';
import type { HostLog, ReverseProxyHost } from '../host/host.js';
import type { HostOptions } from '../host/options.js';
import { parsePortRanges } from '../protocol/address.js';
import { loadHostIdentity, tokenPathIn } from '../host/identity.js';

/** A running host, whatever engine carries it. */
export interface RunningHost extends HostEndpoint {
  engine: 'native' | 'frp';
  id: string;
  logs: EventEmitter<{ log: [HostLog] }>;
  /** The native host itself, for events such as frp clients' tunnels; absent for a supervised frps. */
  native?: ReverseProxyHost;
  stats(): { clients: number; maxClients: number; freePorts: number };
}

export async function startNativeHost(options: HostOptions, stateDir: string): Promise<RunningHost> {
  const handle = await startHost({ ...options, stateDir });
  const logs = new EventEmitter<{ log: [HostLog] }>();
  handle.host.on('log', (l) => logs.emit('log', l));
  return {
    engine: 'native',
    id: handle.host.hostId,
    port: handle.port,
    bind: handle.bind,
    token: handle.token,
    tokenGenerated: handle.tokenGenerated,
    tokenPath: options.token ? undefined : handle.tokenPath,
    fingerprint: handle.fingerprint,
    tls: handle.tls,
    logs,
    native: handle.host,
    stats: () => handle.host.stats(),
    close: () => handle.close(),
  };
}

/** A stock frps under p2prc's supervision, configured from the same options. */
export async function startFrpHost(
  options: HostOptions & { frpBinDir?: string | undefined; configDir?: string },
  stateDir: string,
  logFile: string,
): Promise<RunningHost> {
  const identity = await loadHostIdentity(stateDir, options.token);
  // Loaded only for this engine: the native host's startup does not pay for execa and frp's tooling.
  const [{ findFrp }, { configFormatFor, renderServerConfig }, { FrpProcess }, { default: getPort }] =
    await Promise.all([
      import('../frp/binary.js'),
      import('../frp/config.js'),
      import('../frp/process.js'),
      import('get-port'),
    ]);
  const binary = await findFrp('frps', { binDir: options.frpBinDir, configDir: options.configDir });
  const bind = options.bind ?? '0.0.0.0';
  const port =
    options.controlPort === 0
      ? await getPort({ host: bind === '0.0.0.0' ? undefined : bind })
      : (options.controlPort ?? 7000);
  const format = configFormatFor(binary.version);
  const allowPorts = typeof options.allowPorts === 'string' ? parsePortRanges(options.allowPorts) : options.allowPorts;
  const logs = new EventEmitter<{ log: [HostLog] }>();
  const frps = new FrpProcess({
    binary,
    format,
    proxies: [],
    logFile,
    config: renderServerConfig(
      {
        bindAddr: bind,
        bindPort: port,
        token: identity.token,
        allowPorts,
        maxPortsPerClient: options.maxTunnelsPerClient,
      },
      format,
    ),
    onLog: (line) =>
      logs.emit('log', {
        level: /\[W\]|\[E\]/.test(line) ? 'warn' : 'info',
        message: `frps: ${line.replace(/^\S+ \S+ /, '')}`,
      }),
  });
  frps.on('restart', (r) =>
    logs.emit('log', { level: 'warn', message: `frps exited; restarting in ${r.delayMs} ms (attempt ${r.attempt})` }),
  );
  await frps.start();
  return {
    engine: 'frp',
    id: `frps-${randomBytes(6).toString('hex')}`,
    port,
    bind,
    token: identity.token,
    tokenGenerated: identity.tokenGenerated,
    tokenPath: options.token ? undefined : identity.tokenPath,
    fingerprint: undefined,
    tls: false,
    logs,
    close: () => frps.stop(),
    // frps keeps its load to itself (its dashboard is off): advertise it as accepting, capacity unknown.
    stats: () => ({ clients: 0, maxClients: 1, freePorts: 0 }),
  };
}

export function hostStateDir(configDir: string): string {
  return path.join(configDir, 'host');
}

/** Where a host run with this config directory keeps its token. */
export function hostTokenPath(configDir: string): string {
  return tokenPathIn(hostStateDir(configDir));
}
