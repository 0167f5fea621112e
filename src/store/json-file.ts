import { lstat, open, rename } from 'node:fs/promises';
import { constants } from 'node:fs';
import { P2prcError } from '../errors.js';
import { withFileLock } from './atomic.js';

/** What every corrupt-file error ends with unless the caller knows better. */
export const REPAIR_HINT = 'fix it or move it aside with --repair';

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
  const fix = o.fix ?? REPAIR_HINT;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // JSON.parse quotes the text it choked on, newlines included: one line per error.
    const why = (err as Error).message.replace(/\r?\n/g, '\\n');
    throw new P2prcError('E_CONFIG', `${file} is not valid JSON (${why}); it was left untouched — ${fix}`, {
      cause: err,
      details: { path: file },
    });
  }
}

/** True when `err` is the E_CONFIG that names `file` (corrupt, unreadable), as every reader here throws. */
function namesFile(err: unknown, file: string): boolean {
  return err instanceof P2prcError && err.code === 'E_CONFIG' && err.details.path === file;
}

/**
 * `--repair`, one rule for every file p2prc reads: when `check` (the file's own reader) refuses the
 * existing `file` with E_CONFIG naming it, the file is moved aside, never deleted, as
 * `<file>.corrupt-<time>`, so the next run starts fresh. Under the file's lock, checked again
 * there, so a writer that just fixed it is not undone. Returns where it went; undefined when the file
 * is missing or valid (then nothing is locked or written: it works in a read-only directory too).
 */
export async function repairFile(file: string, check: () => Promise<unknown>): Promise<string | undefined> {
  const corrupt = async () => {
    if (
      !(await lstat(file).then(
        () => true,
        () => false,
      ))
    )
      return false;
    try {
      await check();
      return false;
    } catch (err) {
      if (!namesFile(err, file)) throw err;
      return true;
    }
  };
  if (!(await corrupt())) return undefined;
  return withFileLock(file, async () => {
    if (!(await corrupt())) return undefined;
    const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await rename(file, aside);
    return aside;
  });
}
