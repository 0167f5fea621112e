import type { Argv } from 'yargs';
import { P2prcError } from '../errors.js';
import type { AdminFlags, Logger, LogLevel } from '../index.js';
import type { Library } from './lib.js';

/** --log-level, --log-format and --log-file for the long-running modes (host and client). */
export function logOptions(y: Argv): Argv {
  return y
    .option('log-level', {
      choices: ['error', 'warn', 'info', 'debug'],
      describe: 'least severe level logged (default info; debug with --verbose)',
    })
    .option('log-format', {
      choices: ['text', 'json'],
      default: 'text',
      describe: 'text lines, or one JSON object per line (time, level, event, fields)',
    })
    .option('log-file', {
      type: 'string',
      describe: 'append logs to this file instead of stderr; reopened on SIGHUP (logrotate)',
    });
}

/** --admin-port and friends: the dashboard, /metrics and the JSON API. */
export function adminOptions(y: Argv): Argv {
  return y
    .option('admin-port', {
      type: 'number',
      describe: 'serve the admin dashboard, /metrics and /api/* on this port (0 = any); Bearer <token> required',
    })
    .option('admin-bind', {
      type: 'string',
      default: '127.0.0.1',
      describe: 'address of the admin server; non-loopback needs --admin-tls or --admin-insecure',
    })
    .option('admin-tls', {
      type: 'boolean',
      default: false,
      describe: "HTTPS on the admin server (the host's certificate; a self-signed one on a client)",
    })
    .option('admin-insecure', {
      type: 'boolean',
      default: false,
      describe: 'allow plain HTTP on a non-loopback --admin-bind',
    });
}

export function adminFlags(args: Record<string, unknown>): AdminFlags | undefined {
  const port = args['admin-port'] as number | undefined;
  if (port === undefined) return undefined;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new P2prcError('E_USAGE', `invalid --admin-port "${String(port)}" (0-65535)`);
  return {
    port,
    bind: args['admin-bind'] as string,
    tls: args['admin-tls'] as boolean,
    insecure: args['admin-insecure'] as boolean,
  };
}

/** The logger the flags ask for; SIGHUP reopens the file until `close`. */
export function makeLogger(lib: Library, args: Record<string, unknown>, verbose: boolean): Logger & { stop(): void } {
  const level: LogLevel =
    args['log-level'] !== undefined ? lib.parseLogLevel(args['log-level']) : verbose ? 'debug' : 'info';
  const file = args['log-file'] as string | undefined;
  const logger = new lib.Logger({
    level,
    format: args['log-format'] === 'json' ? 'json' : 'text',
    ...(file ? { file } : {}),
  });
  const unhook = file ? logger.reopenOnSighup() : () => undefined;
  return Object.assign(logger, {
    stop() {
      unhook();
      logger.close();
    },
  });
}
