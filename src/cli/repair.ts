import type { Argv } from 'yargs';
import { configDirArg, type Library } from './lib.js';
import type { Output } from './output.js';

/** `--repair`, on every command that reads p2prc's files (the corrupt-file errors suggest it). */
export function repairOption(y: Argv): Argv {
  return y.option('repair', {
    type: 'boolean',
    describe: 'move a corrupt file of the config dir (or --users) aside (kept as .corrupt-<time>) before starting',
  });
}

/** With --repair: each corrupt file is moved aside and said, before anything starts. */
export async function repairIfAsked(lib: Library, args: Record<string, unknown>, out: Output): Promise<void> {
  if (!args.repair) return;
  const moved = await lib.repairConfigDir(configDirArg(lib, args));
  if (typeof args.users === 'string') moved.push(...[await lib.repairUsers(args.users)].filter((m) => m !== undefined));
  for (const aside of moved) out.err(`moved the corrupt file aside to ${aside}`);
}
