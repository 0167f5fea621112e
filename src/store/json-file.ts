import { open } from 'node:fs/promises';
import { constants } from 'node:fs';
import { P2prcError } from '../errors.js';

export interface ReadOptions {
  /** O_NOFOLLOW: a symlink in place of the file is refused (E_CONFIG), never read through. For secrets. */
  noFollow?: boolean;
}

/** The text of `file`, or undefined when it does not exist; any other failure is E_CONFIG naming the file. */
export async function readTextFile(file: string, o: ReadOptions = {}): Promise<string | undefined> {
  try {
    const handle = await open(file, constants.O_RDONLY | (o.noFollow ? constants.O_NOFOLLOW : 0));
    try {
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    const why =
      o.noFollow && (err as NodeJS.ErrnoException).code === 'ELOOP'
        ? 'it is a symlink, and secrets are never read through one'
        : (err as Error).message;
    throw new P2prcError('E_CONFIG', `cannot read ${file}: ${why}`, { cause: err, details: { path: file } });
  }
}

/**
 * The parsed JSON of `file`, or undefined when it does not exist (JSON itself never parses to
 * undefined). Unreadable or not JSON is E_CONFIG naming the file and saying it was left untouched;
 * `fix` ends that message with what the user can do about it.
 */
export async function readJsonFile(file: string, o: ReadOptions & { fix?: string } = {}): Promise<unknown> {
  const text = await readTextFile(file, o);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // JSON.parse quotes the text it choked on, newlines included: one line per error.
    const why = (err as Error).message.replace(/\r?\n/g, '\\n');
    throw new P2prcError(
      'E_CONFIG',
      `${file} is not valid JSON (${why}); it was left untouched${o.fix ? ` — ${o.fix}` : ''}`,
      { cause: err, details: { path: file } },
    );
  }
}
