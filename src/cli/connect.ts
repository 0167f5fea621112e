import { isIP } from 'node:net';
import type { Argv } from 'yargs';
import { P2prcError, escapeControl } from '../errors.js';
import type {
  Logger,
  NodeService,
  NodeServiceOptions,
  OfferedService,
  PublishedTunnel,
  ServiceOwner,
  ServiceOwnerOptions,
} from '../index.js';
import { configDirArg, loadLibrary, type Library } from './lib.js';
import { stdio, stopsOnHangup, untilSignal, type Output } from './output.js';
import { discoveryArgs, discoveryOptions } from './discovery-options.js';
import { adminFlags, adminOptions, logOptions, makeLogger } from './observe-options.js';
import { clientRun, type ClientRun } from './client-config.js';
import { repairIfAsked } from './repair.js';
import { GIVEN } from './repeats.js';
import { statusEvent } from './status-events.js';

/** src/cli/main.ts starts loading the library's modes while it parses this command's flags. */
export const preloadsLibrary = true;

export const usage = 'p2prc -s --connect-reverse-proxy <ip[:port]> [options]\n  p2prc -s -c <p2prc.toml> [options]';
export const describe = 'Start the P2PRC node server and publish it through a reverse-proxy host.';

export function configure(y: Argv): Argv {
  return adminOptions(logOptions(discoveryOptions(y)))
    .option('server', { alias: 's', type: 'boolean', describe: 'start the node server (P2PRC style; implied)' })
    .option('config', {
      alias: 'c',
      type: 'string',
      describe:
        'client config file (TOML: host, token, fingerprint, tls, protocol, engine, secret, [[tunnels]]); flags win over it',
    })
    .option('connect-reverse-proxy', {
      type: 'string',
      describe:
        'host address ip[:port] (port default 7000), or "auto" / nothing to pick from reverse_proxy_server.json',
    })
    .option('failover-after', {
      type: 'number',
      default: 30,
      describe: 'with auto: seconds a lost host is waited for before moving to the next best',
    })
    .option('port', {
      type: 'number',
      describe: 'local node server port, 0 = any free (default: negotiated, free here and on the host)',
    })
    .option('remote-port', {
      type: 'string',
      default: 'any',
      describe: 'requested public port of the node server, or "any"',
    })
    .option('publish-node', {
      type: 'boolean',
      default: true,
      describe:
        "publish the node server, whose /server_info shows this machine's platform, CPU, RAM and disk (--no-publish-node: only the --expose tunnels)",
    })
    .option('expose', {
      type: 'string',
      array: true,
      default: [],
      describe:
        "also publish a local port (repeatable): 3000, 3000:6001 (public port 6001), udp:5353, http:3000@app (by Host name on the host's --vhost-http-port: app.<its --subdomain-host>, or a full domain), https:3443@app.example.com; name a tunnel with <name>=<spec>, e.g. web=http:3000@app",
    })
    .option('service', {
      type: 'string',
      describe: 'offer the node server (or the first --expose) as a private service with this ID; no public port',
    })
    .option('secret', {
      type: 'string',
      describe: "the service's secret (env P2PRC_SECRET; generated and printed when absent)",
    })
    .option('description', { type: 'string', default: '', describe: 'service description shown by --list-services' })
    .option('bind', {
      type: 'string',
      default: '127.0.0.1',
      describe:
        'address the node server (and --udp-port server) listens on; loopback by default, as visitors come through the host',
    })
    .option('udp-port', {
      type: 'number',
      describe: "also start the node's UDP server on this port (0 = any) and publish it",
    })
    .option('token', { type: 'string', describe: "the host's token (env P2PRC_TOKEN)" })
    .option('fingerprint', { type: 'string', describe: "pin the host's TLS certificate (default: trust on first use)" })
    .option('trust', {
      type: 'string',
      array: true,
      default: [],
      describe:
        'confirm a host certificate fingerprint (repeatable, kept in secrets.json): with auto, confirmed hosts learned from peers are preferred',
    })
    .option('accept-peer-tokens', {
      type: 'boolean',
      default: false,
      describe: 'with auto: use the token a peer advertises for an open host',
    })
    .option('tls', { type: 'boolean', default: true, describe: 'TLS to the host (--no-tls for a plaintext host)' })
    .option('engine', {
      choices: ['native', 'frp', 'auto'],
      default: 'native',
      describe: 'tunnel engine: native, frp (drives a real frpc), auto (detect the host)',
    })
    .option('protocol', {
      choices: ['p2prc', 'frp'],
      default: 'p2prc',
      describe: 'wire protocol: frp speaks to a stock frps natively, without an frp binary',
    })
    .option('tcp-mux', {
      type: 'boolean',
      default: true,
      describe: 'with --protocol frp: yamux multiplexing, as frps tcp_mux (--no-tcp-mux to match tcp_mux = false)',
    })
    .option('frp-bin-dir', { type: 'string', describe: 'directory holding frpc (env P2PRC_FRP_BIN_DIR)' })
    .option('name', { type: 'string', describe: 'client name shown on the host (default: hostname)' })
    .option('exit-on-login-failure', {
      type: 'boolean',
      default: false,
      describe: 'exit if the first login fails instead of retrying',
    })
    .option('heartbeat', { type: 'number', default: 10, describe: 'heartbeat interval in seconds' })
    .option('repair', {
      type: 'boolean',
      default: false,
      describe: 'move a corrupt file of the config dir aside (kept as .corrupt-<time>) before starting',
    })
    .example(
      'p2prc -s --connect-reverse-proxy 203.0.113.10 --token T',
      'publish the node server on a port free on both sides',
    )
    .example(
      'p2prc -s --connect-reverse-proxy 203.0.113.10:7000 --remote-port 6001 --expose 3000',
      'fixed public port, plus local port 3000',
    )
    .example(
      'p2prc -s --connect-reverse-proxy 127.0.0.1 --no-tls --exit-on-login-failure',
      'plaintext host on this machine',
    )
    .example('p2prc -s -c p2prc.toml', 'the host and every tunnel from one file (keys: docs/cli.md)')
    .example(
      'p2prc -s --connect-reverse-proxy 203.0.113.10 --expose web=http:3000@app --expose db=5432:6001',
      'named tunnels',
    )
    .example(
      'p2prc -s --connect-reverse-proxy 203.0.113.10 --no-publish-node --expose web=http:3000@app',
      'publish only the web service, not the node server and its machine details',
    )
    .example(
      'p2prc -s --connect-reverse-proxy 203.0.113.10 --udp-port 0 --expose udp:5353',
      "UDP: the node's UDP server and a local UDP service",
    );
}

function parseRemotePort(value: unknown): number | 'any' {
  if (value === undefined || value === 'any') return 'any';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new P2prcError('E_USAGE', `invalid --remote-port "${String(value)}" (1-65535 or any)`);
  return n;
}

/** --bind: an IP address to listen on (a name would resolve to who knows which interface). */
function checkBind(value: unknown): string {
  const bind = String(value);
  if (!isIP(bind))
    throw new P2prcError(
      'E_USAGE',
      `invalid --bind "${bind}" (an IP address: 127.0.0.1, ::1, 0.0.0.0 or one of this machine's)`,
    );
  return bind;
}

/** --port and --heartbeat, checked before either mode starts anything. */
function checkPortAndHeartbeat(args: Record<string, unknown>): { port: number | undefined; heartbeatMs: number } {
  const port = args.port as number | undefined;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
    throw new P2prcError('E_USAGE', `invalid --port "${String(port)}"`);
  const heartbeat = args.heartbeat as number;
  if (!(heartbeat > 0)) throw new P2prcError('E_USAGE', `invalid --heartbeat "${String(heartbeat)}"`);
  return { port, heartbeatMs: Math.round(heartbeat * 1000) };
}

/** Status lines keep their text; a logger adds the time and the level (warn for warnings and retries, debug for causes). */
function statusSink(out: Output, log: Logger | undefined): (line: string) => void {
  // Status lines carry hosts' and peers' texts: escaped, each stays one line.
  if (!log)
    return (line) =>
      line.startsWith('  caused by:') ? out.verbose && out.err(escapeControl(line)) : out.err(escapeControl(line));
  // A failure's cause chain comes as indented "caused by:" lines after it: debug level, shown with --verbose.
  // A warning's level says it (`warn: nothing listens ...`, not `warn: warning: ...`); a reconnect is good news.
  // Each line's event says what happened (statusEvent), for programs reading --log-format json.
  return (line) => {
    if (line.startsWith('  caused by:')) log.log('debug', statusEvent(line), line);
    else if (line.startsWith('warning: ')) {
      const text = line.slice('warning: '.length);
      log.log('warn', statusEvent(text, true), text);
    } else if (line.startsWith('status:') && !RECOVERED.test(line)) log.log('warn', statusEvent(line), line);
    else log.log('info', statusEvent(line), line);
  };
}

/** The status line of a link that came back (native: "tunnels restored", frp: "proxies restored"). */
const RECOVERED = /^status: reconnected\b/;

/** The flags of `-s --connect-reverse-proxy` as runNodeService options (validated here, at the edge). */
export function nodeServiceOptions(
  lib: Library,
  args: Record<string, unknown>,
  out: Output,
  log?: Logger,
  file?: Pick<ClientRun, 'expose' | 'services'>,
): NodeServiceOptions {
  const admin = adminFlags(args);
  const { port, heartbeatMs } = checkPortAndHeartbeat(args);
  return {
    configDir: configDirArg(lib, args),
    proxy: ['', 'auto'].includes(String(args['connect-reverse-proxy'] ?? ''))
      ? 'auto'
      : lib.parseHostPort(String(args['connect-reverse-proxy']), 7000, '--connect-reverse-proxy address'),
    failoverMs: Math.round((args['failover-after'] as number) * 1000),
    ...discoveryArgs(args),
    token: args.token as string | undefined,
    fingerprint: args.fingerprint as string | undefined,
    trust: (args.trust as string[] | undefined)?.map(String),
    acceptPeerTokens: args['accept-peer-tokens'] as boolean | undefined,
    tls: args.tls as boolean,
    port,
    remotePort: parseRemotePort(args['remote-port']),
    publishNode: args['publish-node'] as boolean,
    expose: file?.expose ?? (args.expose as string[]).map((e) => lib.parseExpose(e)),
    ...(file?.services.length ? { services: file.services } : {}),
    udpPort: args['udp-port'] as number | undefined,
    bind: checkBind(args.bind),
    name: args.name as string | undefined,
    exitOnLoginFailure: args['exit-on-login-failure'] as boolean,
    heartbeatMs,
    engine: args.engine as 'native' | 'frp' | 'auto',
    protocol: args.protocol as 'p2prc' | 'frp',
    tcpMux: args['tcp-mux'] as boolean,
    frpBinDir: args['frp-bin-dir'] as string | undefined,
    onStatus: statusSink(out, log),
    onLog: log
      ? log.enabled('debug')
        ? (line) => log.debug('engine', `[frpc] ${line}`)
        : undefined
      : out.verbose
        ? (line) => out.err(`[frpc] ${line}`)
        : undefined,
    ...(admin ? { admin } : {}),
  };
}

/** "Published: <public> -> <local> (<tunnel>)", or the JSON event, for one confirmed tunnel; scripts parse the two addresses. */
export function publishedLine(
  t: PublishedTunnel,
  json: boolean,
  event: 'published' | 'republished' = 'published',
): string {
  if (json) return JSON.stringify({ event, ...t });
  const local = t.localHost.includes(':') ? `[${t.localHost}]` : t.localHost;
  return `Published: ${t.publicAddress} -> ${local}:${t.localPort} (${t.name}${t.protocol === 'udp' ? ', udp' : ''})`;
}

export async function run(given: Record<string, unknown>, verbose: boolean): Promise<number> {
  const out = stdio(verbose);
  const json = given.json as boolean;
  checkPortAndHeartbeat(given);
  if (given['publish-node'] === false && (given[GIVEN] as Set<string> | undefined)?.has('remote-port'))
    throw new P2prcError(
      'E_USAGE',
      "--remote-port and --no-publish-node contradict each other: --remote-port is the node server's public port",
    );
  const lib = await loadLibrary();
  const file = await clientRun(lib, given);
  const args = file.args;
  // The corrupt-file errors suggest --repair: it works here too, before anything is started.
  await repairIfAsked(lib, args, out);
  if (args.service !== undefined) {
    if (args['admin-port'] !== undefined)
      throw new P2prcError('E_USAGE', '--admin-port is not available with --service');
    return runService(lib, args, out, verbose);
  }
  const log = makeLogger(lib, args, verbose);
  // Signals are taken from the start: Ctrl-C while the first connection is still being tried is a clean stop too.
  const stop = new AbortController();
  const signalled = untilSignal(stopsOnHangup(args)).then((sig) => (stop.abort(), sig));
  let service: NodeService;
  try {
    service = await lib.runNodeService({ ...nodeServiceOptions(lib, args, out, log, file), signal: stop.signal });
  } catch (err) {
    log.stop();
    if (!stop.signal.aborted) throw err;
    out.err(`received ${await signalled}, stopped before the first connection`);
    return 0;
  }
  for (const t of service.published) out.out(publishedLine(t, json));
  const proxy = lib.parseHostPort(String(args['connect-reverse-proxy']), 7000, '--connect-reverse-proxy address');
  const host = lib.formatAddress(proxy.host, proxy.port);
  for (const svc of service.services ?? []) for (const line of offeredLines(svc, host, json)) out.out(line);
  if (service.admin) {
    // After the Published lines, once everything is up; the fragment carries the token to the page only.
    if (json)
      out.out(
        JSON.stringify({ event: 'admin', url: service.admin.url, fingerprint: service.admin.fingerprint ?? null }),
      );
    else out.out(`Admin: ${service.admin.url}#token=${encodeURIComponent(service.admin.token)}`);
  }
  const shown = new Map(service.published.map((t) => [t.name, t.publicAddress]));
  service.publisher.on('published', (list) => {
    // After a failover the addresses are new: say so in the same form as at start (only what changed).
    for (const t of list.filter((x) => shown.get(x.name) !== x.publicAddress)) {
      shown.set(t.name, t.publicAddress);
      out.out(publishedLine(t, json, 'republished'));
    }
  });
  const signal = await signalled;
  log.info('shutdown', `received ${signal}, closing tunnels`);
  await service.close();
  log.stop();
  return 0;
}

/** A service by ID offered with the tunnels (a config file's `type = "service"`): its Published line, and its secret once. */
export function offeredLines(s: OfferedService, host: string, json: boolean): string[] {
  if (json)
    return [
      JSON.stringify({
        event: 'published',
        name: s.name,
        kind: 'service',
        serviceId: s.id,
        host,
        localHost: '127.0.0.1',
        localPort: s.localPort,
        ...(s.generated ? { secret: s.secret } : {}),
      }),
    ];
  return [
    `Published: service:${s.id}@${host} -> 127.0.0.1:${s.localPort} (${s.name}, service)`,
    ...(s.generated ? [`Secret for ${s.id}: ${s.secret} (kept in secrets.json)`] : []),
  ];
}

/** The flags of `-s --connect-reverse-proxy <host> --service <id>` as runServiceOwner options. */
export function serviceOwnerOptions(
  lib: Library,
  args: Record<string, unknown>,
  out: Output,
  log?: Logger,
): ServiceOwnerOptions {
  const expose = (args.expose as string[]).map((e) => lib.parseExpose(e)).find((e) => e.protocol === 'tcp');
  return {
    configDir: configDirArg(lib, args),
    proxy: lib.parseHostPort(String(args['connect-reverse-proxy']), 7000, '--connect-reverse-proxy address'),
    token: args.token as string | undefined,
    fingerprint: args.fingerprint as string | undefined,
    tls: args.tls as boolean,
    serviceId: String(args.service),
    secret: args.secret as string | undefined,
    description: args.description as string,
    localPort: expose?.localPort,
    nodePort: args.port as number | undefined,
    exitOnLoginFailure: args['exit-on-login-failure'] as boolean,
    onStatus: statusSink(out, log),
  };
}

/** What an offered service prints: where it is, its secret when generated, how to visit it. */
export function serviceLines(
  id: string,
  host: string,
  owner: Pick<ServiceOwner, 'target' | 'secret' | 'generated'>,
  json: boolean,
): string[] {
  if (json)
    return [
      JSON.stringify({
        event: 'service',
        id,
        host,
        local: owner.target,
        ...(owner.generated ? { secret: owner.secret } : {}),
      }),
    ];
  return [
    `Service: ${id} via ${host} -> 127.0.0.1:${owner.target}`,
    ...(owner.generated ? [`Secret: ${owner.secret}`] : []),
    `Visit with: p2prc --visit ${id} --host ${host} --token <token> --secret <secret> --local-port <port>`,
  ];
}

async function runService(lib: Library, args: Record<string, unknown>, out: Output, verbose: boolean): Promise<number> {
  // Listening from the start, as every long-running command does (see untilSignal).
  const signalled = untilSignal(stopsOnHangup(args));
  const log = makeLogger(lib, args, verbose);
  const options = serviceOwnerOptions(lib, args, out, log);
  const owner = await lib.runServiceOwner(options).catch((err: unknown) => {
    log.stop();
    throw err;
  });
  for (const line of serviceLines(
    options.serviceId,
    lib.formatAddress(options.proxy.host, options.proxy.port),
    owner,
    args.json as boolean,
  ))
    out.out(line);
  const signal = await signalled;
  log.info('shutdown', `received ${signal}, closing the service`);
  await owner.close();
  log.stop();
  return 0;
}
