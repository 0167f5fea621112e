import type { Argv } from 'yargs';

/** An example of a command's --help: the command line as typed, and what it does. */
export type Example = [command: string, description: string];

/**
 * Takes over `.example()` on this parser: yargs lays examples out in two columns and wraps both, so a
 * long command was broken in two with its description between the halves, and could not be pasted.
 * The commands' configure functions keep calling `.example()`; the collected list is printed by
 * renderExamples after yargs' help.
 */
export function collectExamples(parser: Argv): Example[] {
  const examples: Example[] = [];
  const take = (command: string | ReadonlyArray<[string, string?]>, description?: string): Argv => {
    if (typeof command === 'string') examples.push([command, description ?? '']);
    else for (const [c, d] of command) examples.push([c, d ?? '']);
    return parser;
  };
  parser.example = take as Argv['example'];
  return examples;
}

/** Folds text into lines of at most `width` characters (a word longer than that stays whole). Pure. */
export function fold(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * The Examples section: each command whole on its own line (never wrapped, so it can be copied),
 * its description below it, indented and folded to `width`. Pure.
 */
export function renderExamples(examples: Example[], width = 100): string {
  if (examples.length === 0) return '';
  const out = ['Examples:'];
  for (const [command, description] of examples) {
    out.push(`  ${command}`);
    for (const line of fold(description, Math.max(20, width - 6))) out.push(`      ${line}`);
  }
  return `${out.join('\n')}\n`;
}
