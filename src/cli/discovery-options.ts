import type { Argv } from 'yargs';
import { P2prcError } from '../errors.js';

/** IP table exchange options shared by every command that runs a node server. */
export function discoveryOptions(y: Argv): Argv {
  return y
    .option('bootstrap', {
      type: 'string',
      array: true,
      default: [],
      describe: 'node servers (host:port) to exchange IP tables with (repeatable)',
    })
    .option('exchange-interval', { type: 'number', default: 60, describe: 'seconds between IP table exchange rounds' })
    .option('stale-after', {
      type: 'number',
      default: 300,
      describe: 'seconds after which an unseen node is dropped from the IP table',
    })
    .option('share-identity', {
      type: 'boolean',
      default: false,
      describe:
        "put this machine's host name and user name in /ip_table and /server_info (anyone can read them); off: empty strings",
    });
}

export function discoveryArgs(args: Record<string, unknown>): {
  bootstrap: string[];
  exchangeIntervalMs: number;
  staleMs: number;
  shareIdentity: boolean;
} {
  const interval = args['exchange-interval'] as number;
  const stale = args['stale-after'] as number;
  if (!(interval > 0))
    throw new P2prcError('E_USAGE', `invalid --exchange-interval "${String(interval)}" (seconds, > 0)`);
  if (!(stale > 0)) throw new P2prcError('E_USAGE', `invalid --stale-after "${String(stale)}" (seconds, > 0)`);
  return {
    bootstrap: (args.bootstrap as string[]).map(String),
    exchangeIntervalMs: Math.round(interval * 1000),
    staleMs: Math.round(stale * 1000),
    shareIdentity: args['share-identity'] === true,
  };
}
