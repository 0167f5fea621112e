import type { Argv, Options } from 'yargs';

/** One option a command declared: its name, its aliases, and whether it is a boolean or takes many values. */
export interface DeclaredOption {
  key: string;
  aliases: string[];
  boolean: boolean;
  array: boolean;
  number?: boolean;
}

/**
 * The options declared on this parser, kept as `.option()` declares them (its object form comes back
 * through the one-name form), for the checks the CLI makes beside yargs': unknown flags with a
 * suggestion, environment defaults, repeated flags. Filled in while the commands configure the parser;
 * yargs' own --help (-h) and --version are there from the start.
 */
export function recordOptions(parser: Argv): DeclaredOption[] {
  const declared: DeclaredOption[] = [
    { key: 'help', aliases: ['h'], boolean: true, array: false },
    { key: 'version', aliases: [], boolean: true, array: false },
  ];
  const option = parser.option.bind(parser) as (key: string | Record<string, Options>, opt?: Options) => Argv;
  const take = (key: string | Record<string, Options>, opt?: Options): Argv => {
    if (typeof key === 'string')
      declared.push({
        key,
        aliases: [opt?.alias ?? []].flat(),
        boolean: opt?.type === 'boolean' || opt?.boolean === true,
        array: opt?.type === 'array' || opt?.array === true,
        number: opt?.type === 'number' || opt?.number === true,
      });
    return option(key, opt);
  };
  parser.option = take as Argv['option'];
  return declared;
}

/** Every name the declared options answer to, aliases included. */
export function declaredFlags(declared: DeclaredOption[]): string[] {
  return declared.flatMap((o) => [o.key, ...o.aliases]);
}
