import type { Argv } from 'yargs';
import { P2prcError } from '../errors.js';
import { loadLibrary } from './lib.js';
import { stdio } from './output.js';

export const usage = 'p2prc --add-user <name> --users users.json --password P';
export const describe =
  "Add (or replace) an account in a host's users file; only SCRAM keys (salt, StoredKey, ServerKey) are stored, which verify a password but cannot log in.";

export function configure(y: Argv): Argv {
  return y
    .option('add-user', { type: 'string', demandOption: true, requiresArg: true, describe: 'user name' })
    .option('users', {
      type: 'string',
      demandOption: true,
      requiresArg: true,
      describe: 'users file to create or update',
    })
    .option('password', { type: 'string', describe: 'the password (env P2PRC_PASSWORD)' })
    .example(
      'P2PRC_PASSWORD=s3cretpass p2prc --add-user alice --users users.json',
      'then: p2prc -s --reverse-proxy --users users.json',
    );
}

export async function run(args: Record<string, unknown>, verbose: boolean): Promise<number> {
  const out = stdio(verbose);
  if (!args.password) throw new P2prcError('E_USAGE', '--add-user needs --password (or P2PRC_PASSWORD)');
  const lib = await loadLibrary();
  await lib.addUser(String(args.users), String(args['add-user']), String(args.password));
  const [user, file] = [String(args['add-user']), String(args.users)];
  out.out(args.json ? JSON.stringify({ event: 'user-saved', user, file }) : `User ${user} saved in ${file}`);
  return 0;
}
