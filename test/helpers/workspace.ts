import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import { killAll } from './cli.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];

/** Registers a cleanup; run them all (newest first) in afterEach, also when a test failed. */
export function defer(fn: () => Promise<unknown> | unknown): void {
  cleanups.push(fn);
}

/** Runs every registered cleanup, newest first; one that fails does not keep the others from running. */
export async function cleanup(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await Promise.resolve(fn()).catch(() => undefined);
}

/** A fresh directory under the OS temp dir (`p2prc-<label>-…`), as a new user or a second machine has; removed at cleanup. */
export function tempDir(label = 'test'): string {
  const dir = mkdtempSync(path.join(tmpdir(), `p2prc-${label}-`));
  // Retries: a process killed a moment ago may still have a record write landing in it.
  defer(() => rm(dir, { recursive: true, force: true, maxRetries: 5 }));
  return dir;
}

/** A child process killed (SIGKILL) and awaited at cleanup, unless it has exited by then. */
export function track<T extends ChildProcess>(child: T): T {
  defer(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  });
  return child;
}

/**
 * The fixture for a test file that starts processes or servers or writes files: call it once at the top.
 * After each test, passed or failed, the built CLI's processes (`startCli`) are killed, then everything
 * registered with `defer`, `tempDir` or `track` (and by the other helpers, which register with `defer`)
 * is undone, newest first: so a process goes before the directory it wrote to.
 */
export function useWorkspace(): { tempDir: typeof tempDir; track: typeof track; defer: typeof defer } {
  afterEach(async () => {
    await killAll();
    await cleanup();
  });
  return { tempDir, track, defer };
}
