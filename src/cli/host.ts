import type { Argv } from 'yargs';
import type { HostService, HostServiceOptions } from '../index.js';
import { configDirArg, loadLibrary, type Library } from './lib.js';
import { stdio, stopsOnHangup, untilSignal } from './output.js';
import { discoveryArgs, discoveryOptions } from './discovery-options.js';
import { adminFlags, adminOptions, logOptions, makeLogger } from './observe-options.js';
import { repairIfAsked, repairOption } from './repair.js';
import { GIVEN } from './repeats.js';
import { statusEvent } from './status-events.js';
import { P2prcError } from '../errors.js';
import { isHostNameOrIp } from '../protocol/parse-address.js';

/** src/cli/main.ts starts loading the library's modes while it parses this command's flags. */
export const preloadsLibrary = true;

export const usage = 'p2prc -s --reverse-proxy [options]';
export const describe = 'Start a reverse-proxy host: clients publish their services on its public ports.';

export function configure(y: Argv): Argv {
  return repairOption(adminOptions(logOptions(discoveryOptions(y))))
    .option('frp-compat', {
      choices: ['on', 'off'],
      default: 'on',
      describe: 'also serve stock frpc clients (frp protocol) on the control port',
    })
    .option('users', {
      type: 'string',
      describe: 'users file (see --add-user): an account is then needed to list and visit services',
    })
    .option('open', {
      type: 'boolean',
      default: false,
      describe:
        "let anyone use this host: publishes the token in the IP table and opens a token-less frp port (P2PRC's /FRPPort) for nodes behind NAT",
    })
    .option('server', { alias: 's', type: 'boolean', describe: 'start the node server (P2PRC style; implied)' })
    .option('reverse-proxy', { type: 'boolean', demandOption: true, describe: 'run as a reverse-proxy host' })
    .option('control-port', {
      type: 'number',
      describe: 'port clients connect to, 0 picks one (default: controlPort in the config, else 7000)',
    })
    .option('bind', { type: 'string', default: '0.0.0.0', describe: 'address for the control port and public ports' })
    .option('public-host', { type: 'string', describe: 'address clients and visitors should use (default: detected)' })
    .option('token', { type: 'string', describe: 'shared token (env P2PRC_TOKEN; default: generated once and stored)' })
    .option('allow-ports', {
      type: 'string',
      describe: 'public ports clients may use, e.g. 6000-6100,7000 (default: any from 1024)',
    })
    .option('vhost-http-port', {
      type: 'number',
      describe:
        'HTTP virtual-host port: http services (frp http proxies, --expose http:PORT@DOMAIN) are routed by Host header (default: off)',
    })
    .option('vhost-https-port', {
      type: 'number',
      describe:
        'HTTPS virtual-host port: TLS services (frp https proxies, --expose https:PORT@DOMAIN) are routed by the server name (SNI) of the ClientHello, never decrypted (default: off)',
    })
    .option('subdomain-host', {
      type: 'string',
      describe: 'domain under which http and https services may claim <name>.<domain> (frp subdomain)',
    })
    .option('max-tunnels-per-client', { type: 'number', default: 16, describe: 'tunnels one client may hold' })
    .option('max-tunnels-per-principal', {
      type: 'number',
      default: 256,
      describe: 'tunnels one account (--users), else one client address, may hold across its clients',
    })
    .option('max-clients', { type: 'number', default: 1024, describe: 'clients connected at once' })
    .option('tls', {
      type: 'boolean',
      default: true,
      describe: 'TLS on the control and data connections (--no-tls for plaintext)',
    })
    .option('insecure', { type: 'boolean', default: false, describe: 'same as --no-tls' })
    .option('grace', { type: 'number', default: 30, describe: 'seconds a lost client keeps its ports' })
    .option('heartbeat', { type: 'number', default: 10, describe: 'heartbeat interval in seconds' })
    .option('port', { type: 'number', describe: "port of this machine's node server (default 8088, or a free one)" })
    .option('engine', {
      choices: ['native', 'frp'],
      default: 'native',
      describe: 'native, or frp to run a real frps (fallback)',
    })
    .option('stun-port', {
      type: 'number',
      describe: 'UDP port of the STUN responder for direct paths (default: the control port number; -1: none)',
    })
    .option('frp-bin-dir', { type: 'string', describe: 'directory holding frps (env P2PRC_FRP_BIN_DIR)' })
    .example('p2prc -s --reverse-proxy', 'host on port 7000 with TLS and a generated token')
    .example(
      'p2prc -s --reverse-proxy --control-port 7000 --allow-ports 6000-6100 --public-host 203.0.113.10',
      'restrict public ports',
    )
    .example(
      'p2prc -s --reverse-proxy --vhost-http-port 8080 --subdomain-host example.com',
      'also route HTTP by Host header on port 8080',
    )
    .example(
      'p2prc -s --reverse-proxy --vhost-https-port 8443',
      'also route TLS by server name on port 8443 (clients: --expose https:3443@app.example.com)',
    )
    .example('P2PRC_TOKEN=secret p2prc -s --reverse-proxy --no-tls --bind 127.0.0.1', 'plaintext, loopback only')
    .example(
      'p2prc -s --reverse-proxy --admin-port 7500 --log-format json --log-file /var/log/p2prc.log',
      'dashboard and /metrics on 127.0.0.1:7500, JSON logs to a file',
    );
}

/**
 * Flags that contradict each other, or a value the host would advertise to every client and visitor
 * without it being an address: E_USAGE naming them, before anything starts.
 */
export function checkHostFlags(args: Record<string, unknown>, given: ReadonlySet<string>): void {
  if (args.insecure && args.tls && given.has('tls'))
    throw new P2prcError('E_USAGE', '--insecure and --tls contradict each other (--insecure means --no-tls); give one');
  const publicHost = args['public-host'] as string | undefined;
  if (publicHost !== undefined && !isHostNameOrIp(publicHost))
    throw new P2prcError(
      'E_USAGE',
      `invalid --public-host "${publicHost}" (a host name such as host.example.com, or an IP address)`,
    );
  const subdomain = args['subdomain-host'] as string | undefined;
  if (subdomain !== undefined && !isHostNameOrIp(subdomain.replace(/^\.+/, '')))
    throw new P2prcError('E_USAGE', `invalid --subdomain-host "${subdomain}" (a domain name such as example.com)`);
  if (subdomain !== undefined && args['vhost-http-port'] === undefined && args['vhost-https-port'] === undefined)
    throw new P2prcError(
      'E_USAGE',
      '--subdomain-host needs --vhost-http-port or --vhost-https-port: the port its <name>.<domain> services are served on',
    );
}

/**
 * The flags of `-s --reverse-proxy` as runHostService options. --control-port and --token left out
 * fall back, in the library, to config.json (the port) or secrets.json (the token), then the defaults.
 */
export async function hostServiceOptions(lib: Library, args: Record<string, unknown>): Promise<HostServiceOptions> {
  return {
    configDir: configDirArg(lib, args),
    controlPort: args['control-port'] as number | undefined,
    bind: args.bind as string,
    publicHost: args['public-host'] as string | undefined,
    token: args.token as string | undefined,
    allowPorts: args['allow-ports'] ? lib.parsePortRanges(String(args['allow-ports'])) : undefined,
    maxTunnelsPerClient: args['max-tunnels-per-client'] as number,
    maxTunnelsPerPrincipal: args['max-tunnels-per-principal'] as number,
    maxClients: args['max-clients'] as number,
    tls: (args.tls as boolean) && !(args.insecure as boolean),
    graceMs: Math.round((args.grace as number) * 1000),
    heartbeatMs: Math.round((args.heartbeat as number) * 1000),
    nodePort: args.port as number | undefined,
    engine: args.engine as 'native' | 'frp',
    open: args.open as boolean,
    frpCompat: args['frp-compat'] !== 'off',
    vhostHttpPort: args['vhost-http-port'] as number | undefined,
    vhostHttpsPort: args['vhost-https-port'] as number | undefined,
    subdomainHost: args['subdomain-host'] as string | undefined,
    ...(args.users ? { users: await lib.loadUsers(String(args.users)) } : {}),
    ...discoveryArgs(args),
    frpBinDir: args['frp-bin-dir'] as string | undefined,
    ...(adminFlags(args) ? { admin: adminFlags(args) } : {}),
    ...(args['stun-port'] === undefined
      ? {}
      : { stunPort: args['stun-port'] === -1 ? false : (args['stun-port'] as number) }),
  };
}

/** What a started host prints: the banner, or one JSON event. `allowPorts` is already formatted. */
export function hostBanner(service: HostService, allowPorts: string, json: boolean): string {
  const { handle } = service;
  if (json) {
    return JSON.stringify({
      event: 'host-started',
      engine: handle.engine,
      control: service.controlAddress,
      port: handle.port,
      publicHost: service.publicHost,
      tls: handle.tls,
      fingerprint: handle.fingerprint ?? null,
      tokenPath: handle.tokenPath ?? null,
      connectCommand: service.connectCommand,
      nodePort: service.nodePort ?? null,
      admin: service.admin ? { url: service.admin.url, fingerprint: service.admin.fingerprint ?? null } : null,
    });
  }
  const dashboard = service.admin ? `${service.admin.url}#token=${encodeURIComponent(handle.token)}` : undefined;
  const where = !handle.tokenPath
    ? 'from --token, P2PRC_TOKEN or the config'
    : `${handle.tokenGenerated ? 'generated, ' : ''}stored in ${handle.tokenPath}`;
  return [
    'p2prc reverse-proxy host is running',
    `  Control address:  ${service.controlAddress}`,
    `  Public host:      ${service.publicHost}`,
    `  Engine:           ${handle.engine === 'frp' ? 'frp (a supervised frps)' : 'native'}`,
    `  TLS:              ${handle.tls ? `on, fingerprint ${handle.fingerprint}` : handle.engine === 'frp' ? 'accepted when the client enables it (frp)' : 'off (plaintext)'}`,
    `  Token:            ${handle.token}  (${where})`,
    `  Allowed ports:    ${allowPorts}`,
    ...(handle.native?.vhost
      ? [
          `  HTTP vhost:       http://${service.publicHost}:${handle.native.vhost.port}${handle.native.options.subdomainHost ? ` (subdomains of ${handle.native.options.subdomainHost})` : ''}`,
        ]
      : []),
    ...(handle.native?.httpsVhost
      ? [`  HTTPS vhost:      https://${service.publicHost}:${handle.native.httpsVhost.port} (routed by server name)`]
      : []),
    `  Node server:      ${service.nodePort ? `http://${service.publicHost}:${service.nodePort}/ip_table` : 'off'}`,
    `  Client command:   ${service.connectCommand}`,
    ...(dashboard ? [`  Dashboard:        ${dashboard}  (also /metrics, /api/*; Authorization: Bearer <token>)`] : []),
    '  (the token is a secret: give this command only to clients you trust, over a private channel)',
  ].join('\n');
}

export async function run(args: Record<string, unknown>, verbose: boolean): Promise<number> {
  const out = stdio(verbose);
  checkHostFlags(args, (args[GIVEN] as Set<string> | undefined) ?? new Set());
  // Listening from the start, as every long-running command does (see untilSignal).
  const signalled = untilSignal(stopsOnHangup(args));
  const lib = await loadLibrary();
  await repairIfAsked(lib, args, out);
  const options = await hostServiceOptions(lib, args);
  const log = makeLogger(lib, args, verbose);
  const service = await lib.runHostService(options).catch((err: unknown) => {
    log.stop();
    throw err;
  });
  service.handle.logs.on('log', (l) => log.log(l.level, l.event ?? 'host', l.message, l.fields));
  for (const w of service.warnings) log.warn(statusEvent(w, true), w);
  const allow = options.allowPorts;
  out.out(
    hostBanner(service, allow && typeof allow !== 'string' ? lib.formatPortRanges(allow) : 'any', args.json as boolean),
  );
  const signal = await signalled;
  log.info('shutdown', `received ${signal}, shutting down`);
  await service.close();
  log.stop();
  return 0;
}
