import { open, rename, unlink, link, mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { P2prcError } from '../errors.js';
import { writePrivateFile } from './private-file.js';
import { debugFailure } from '../log/debug.js';

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Writes via a random O_EXCL|O_NOFOLLOW temp file in the same directory, fsync, rename, fsync of the
 * directory (private-file.ts): a crash leaves old or new, never half. A failure is E_CONFIG naming
 * the file (details.path), whatever fs said.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  try {
    await writePrivateFile(file, text);
  } catch (err) {
    throw new P2prcError('E_CONFIG', `cannot write ${file}: ${(err as Error).message}`, {
      cause: err,
      details: { path: file },
    });
  }
}

const STALE_LOCK_MS = 30_000;

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** Breaks `lock` when its holder died or it is older than STALE_LOCK_MS; true: retry at once. */
async function breakStaleLock(lock: string): Promise<boolean> {
  let stale: number;
  try {
    // Content and age from one open file, so both describe the same lock (it is never empty: see takeLock).
    const file = await open(lock, 'r');
    try {
      const [text, info] = await Promise.all([file.readFile('utf8'), file.stat()]);
      const holder = Number(text.split(' ')[0]);
      const dead = !isProcessAlive(holder) && Date.now() - info.mtimeMs > 1_000;
      if (!dead && Date.now() - info.mtimeMs <= STALE_LOCK_MS) return false;
      stale = info.ino;
    } finally {
      await file.close();
    }
  } catch (err) {
    debugFailure(`lock ${lock} vanished or unreadable`, err, 'E_LOCKED');
    // Vanished: retry at once. Anything else (a directory in its place, no permission) waits like a held lock.
    return isMissing(err);
  }
  return removeIfSame(lock, stale).catch((err: Error) => {
    throw new P2prcError('E_CONFIG', `cannot break the stale lock ${lock}: ${err.message}`, {
      cause: err,
      details: { path: lock },
    });
  });
}

/**
 * Between judging a lock stale and removing it, its holder may have released it and another process
 * taken a new one: unlinking by name would break that live lock (and lose a write). So the lock is
 * moved aside atomically, and a lock that turns out not to be the one judged is linked back at once.
 */
async function removeIfSame(lock: string, ino: number): Promise<boolean> {
  const aside = `${lock}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await rename(lock, aside);
  } catch (err) {
    return isMissing(err);
  }
  try {
    if ((await stat(aside)).ino === ino) return true;
    // EEXIST: a third process locked in the microseconds since the rename; its lock stands, ours is dropped.
    await link(aside, lock).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    });
    return false;
  } finally {
    await unlink(aside);
  }
}

/**
 * Creates the lock already holding "pid time": written to a temp file, then hard-linked into place
 * (link fails with EEXIST like O_EXCL). A lock created empty and filled in later would look like a
 * lock with no live holder to a process reading it in between.
 */
async function takeLock(lock: string): Promise<void> {
  const tmp = `${lock}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
  await writeFile(tmp, `${process.pid} ${Date.now()}`, { flag: 'wx', mode: 0o600 });
  try {
    await link(tmp, lock);
  } finally {
    await unlink(tmp).catch((e: unknown) => debugFailure(`cannot remove ${tmp}`, e, 'E_LOCKED'));
  }
}

/**
 * Runs `fn` while holding `<file>.lock` (created with O_EXCL, holding "pid time"). Waits with
 * jittered backoff; a lock whose holder died is broken. Gives up with E_LOCKED after timeoutMs.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const lock = `${file}.lock`;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 }).catch((err: Error) => {
    throw new P2prcError('E_CONFIG', `cannot create the directory of ${file}: ${err.message}`, {
      cause: err,
      details: { path: file },
    });
  });
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      await takeLock(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new P2prcError('E_CONFIG', `cannot create lock ${lock}: ${(err as Error).message}`, {
          cause: err,
          details: { path: lock },
        });
      if (Date.now() > deadline)
        throw new P2prcError('E_LOCKED', `could not lock ${file} within ${timeoutMs} ms (held by ${lock})`, {
          details: { path: lock },
        });
      if (await breakStaleLock(lock)) continue;
      await delay(Math.min(200, 5 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random()));
    }
  }
  try {
    return await fn();
  } finally {
    // Already gone (broken as stale by another process) is fine; anything else leaves a lock to break later.
    await unlink(lock).catch((e: unknown) => debugFailure(`cannot remove lock ${lock}`, e, 'E_LOCKED'));
  }
}
