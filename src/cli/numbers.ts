import { P2prcError } from '../errors.js';
import type { DeclaredOption } from './declared.js';

/**
 * The numeric flags as the user typed them: a value that is no number, or a negative one (every
 * number p2prc takes is a count, a port or a duration), or a port outside 0-65535, is E_USAGE naming
 * the flag and the text given, before the library would name its own option in milliseconds.
 */
export function rejectBadNumbers(args: Record<string, unknown>, argv: string[], declared: DeclaredOption[]): void {
  for (const o of declared) {
    if (!o.number) continue;
    const value = args[o.key];
    if (typeof value !== 'number') continue;
    const port = /port$/.test(o.key);
    if (Number.isFinite(value) && value >= 0 && (!port || (Number.isInteger(value) && value <= 65535))) continue;
    const want = port ? 'a port number (0-65535)' : 'a number of 0 or more';
    throw new P2prcError('E_USAGE', `--${o.key} needs ${want}, got "${typed(argv, o) ?? String(value)}"`);
  }
}

/**
 * An empty --token is a mistake (an unset shell variable, say), never a wish to fall back to the
 * stored token or to log in token-less: E_USAGE.
 */
export function rejectEmptyToken(args: Record<string, unknown>): void {
  if (args.token === '')
    throw new P2prcError('E_USAGE', "--token is empty: give the host's token, or leave --token out");
}

/** The text given for an option on the command line, if it was given there. */
function typed(argv: string[], o: DeclaredOption): string | undefined {
  const names = [o.key, ...o.aliases].map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    for (const name of names) {
      if (word === name) return argv[i + 1];
      if (word.startsWith(`${name}=`)) return word.slice(name.length + 1);
    }
  }
  return undefined;
}
