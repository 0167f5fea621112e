import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface PrivateFile {
  path: string;
  /** Replaces the contents whole (a temp file renamed over it), for frp to read again. */
  rewrite(text: string): Promise<void>;
  dispose(): Promise<void>;
}

/** Writes a config holding the token into a fresh 0700 directory as a 0600 file; dispose() removes both. */
export async function writePrivateConfig(text: string, ext: 'ini' | 'toml'): Promise<PrivateFile> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'p2prc-frp-'));
  const file = path.join(dir, `frp.${ext}`);
  await writeFile(file, text, { mode: 0o600 });
  return {
    path: file,
    async rewrite(next) {
      const temp = path.join(dir, `next.${ext}`);
      await writeFile(temp, next, { mode: 0o600 });
      await rename(temp, file);
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
