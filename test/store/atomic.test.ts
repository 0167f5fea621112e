import { beforeEach, describe, expect, it } from 'vitest';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { P2prcError } from '../../src/errors.js';
import { withFileLock, writeFileAtomic, recordWriteWarning } from '../../src/store/index.js';
import { useWorkspace } from '../helpers/workspace.js';

// Write failures made with real files. As root, permissions do not stop a write, so each failure is a
// path of the wrong kind: a directory where a file is expected, or a file where a directory is.
const { tempDir } = useWorkspace();
let dir: string;
beforeEach(() => {
  dir = tempDir('atomic');
});

async function rejection(p: Promise<unknown>): Promise<P2prcError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof P2prcError) return err;
    throw new Error(`expected a P2prcError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected a rejection');
}

describe('writeFileAtomic failures', () => {
  it('a directory in place of the file: E_CONFIG naming the file, the directory kept, no temp file left', async () => {
    const file = path.join(dir, 'reverse_proxy_mapping.json');
    await mkdir(path.join(file, 'inside'), { recursive: true });
    const err = await rejection(writeFileAtomic(file, '{}\n'));
    expect(err.code).toBe('E_CONFIG');
    expect(err.details.path).toBe(file);
    expect(await readdir(dir)).toEqual(['reverse_proxy_mapping.json']);
    expect(await readdir(file)).toEqual(['inside']);
  });

  it('a file in place of the directory: E_CONFIG naming the file', async () => {
    await writeFile(path.join(dir, 'not-a-dir'), 'x');
    const file = path.join(dir, 'not-a-dir', 'users.json');
    const err = await rejection(writeFileAtomic(file, '{}\n'));
    expect(err.code).toBe('E_CONFIG');
    expect(err.details.path).toBe(file);
  });
});

describe('withFileLock failures', () => {
  it('a lock path that is a directory is waited on like a held lock, then E_LOCKED; the work never runs', async () => {
    const file = path.join(dir, 'reverse_proxy_server.json');
    await mkdir(`${file}.lock`);
    let ran = false;
    const err = await rejection(withFileLock(file, async () => (ran = true), 300));
    expect(err.code).toBe('E_LOCKED');
    expect(err.details.path).toBe(`${file}.lock`);
    expect(ran).toBe(false);
  });

  it('a file where the records directory should be: E_CONFIG naming the file', async () => {
    await writeFile(path.join(dir, 'config'), 'x');
    const file = path.join(dir, 'config', 'reverse_proxy_server.json');
    const err = await rejection(withFileLock(file, async () => undefined));
    expect(err.code).toBe('E_CONFIG');
    expect(err.details.path).toBe(file);
  });
});

describe('recordWriteWarning', () => {
  it('names what, the file and the code; an uncoded failure counts as E_CONFIG', () => {
    expect(
      recordWriteWarning('tunnel web', '/c/reverse_proxy_mapping.json', new P2prcError('E_LOCKED', 'could not lock')),
    ).toBe('cannot record tunnel web in /c/reverse_proxy_mapping.json: E_LOCKED: could not lock');
    expect(recordWriteWarning('tunnel web', '/c/m.json', new Error('EIO'))).toBe(
      'cannot record tunnel web in /c/m.json: E_CONFIG: EIO',
    );
  });
});
