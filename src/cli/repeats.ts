import { P2prcError } from '../errors.js';
import type { DeclaredOption } from './declared.js';

/** Each name a flag can be given by (its aliases, camelCase, `no-` for a boolean) mapped to its option. */
function flagNames(declared: DeclaredOption[]): Map<string, string> {
  const names = new Map<string, string>();
  const add = (name: string, option: string) => {
    names.set(name, option);
    names.set(
      name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
      option,
    );
  };
  for (const o of declared) {
    if (names.has(o.key)) continue;
    for (const name of [o.key, ...o.aliases]) {
      add(name, o.key);
      if (o.boolean) add(`no-${name}`, o.key);
    }
  }
  return names;
}

/**
 * A flag that takes one value given twice is E_USAGE naming it: yargs would make an array of it, which
 * every option but the array ones (`--expose`, `--bootstrap`, ...) would mistake for one value. Checked
 * on the words the user typed, before any option's own check sees the array.
 */
export function rejectRepeatedFlags(argv: string[], declared: DeclaredOption[]): void {
  const names = flagNames(declared);
  const arrays = new Set(declared.filter((o) => o.array).map((o) => o.key));
  const seen = new Map<string, string>();
  for (const word of argv) {
    if (word === '--') break;
    const m = /^--?([^=]+)/.exec(word);
    const option = m && names.get(m[1]!);
    if (!option || arrays.has(option) || option === 'help' || option === 'version') continue;
    const first = seen.get(option);
    const flag = word.split('=')[0]!;
    // `--tls --no-tls` is no repetition but a contradiction: say so.
    if (first !== undefined && first !== flag && [first, flag].some((f) => f.startsWith('--no-')))
      throw new P2prcError('E_USAGE', `${first} and ${flag} contradict each other; give one`);
    if (first !== undefined)
      throw new P2prcError(
        'E_USAGE',
        `--${option} is given more than once (${first}, ${word.split('=')[0]}); it takes one value`,
      );
    seen.set(option, word.split('=')[0]!);
  }
}

/** The key (not enumerated) under which parsed args carry the set of options given on the command line. */
export const GIVEN = '$given';

/** The options the user gave on the command line (not defaults or environment): a config file yields to these only. */
export function givenOptions(argv: string[], declared: DeclaredOption[]): Set<string> {
  const names = flagNames(declared);
  const given = new Set<string>();
  for (const word of argv) {
    if (word === '--') break;
    const m = /^--?([^=]+)/.exec(word);
    const option = m && names.get(m[1]!);
    if (option) given.add(option);
  }
  return given;
}
