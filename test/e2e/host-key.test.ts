import { describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, startCli } from '../helpers/cli.js';
import { useWorkspace } from '../helpers/workspace.js';

// A host whose key file is damaged says which file, and leaves it for the operator.
const { tempDir } = useWorkspace();

const hostArgs = (dir: string) => [
  '-s',
  '--reverse-proxy',
  '--bind',
  '127.0.0.1',
  '--control-port',
  '0',
  '--port',
  '0',
  '--json',
  '--config-dir',
  dir,
];

describe('a corrupt host key', () => {
  it('is E_CONFIG, exit 2, naming host/host-key.pem, which is left as it is', async () => {
    const dir = tempDir('hostkey');
    const first = startCli(hostArgs(dir));
    await first.waitFor((l) => l.includes('"host-started"'));
    expect(await first.stop('SIGTERM')).toBe(0);
    const keyPath = path.join(dir, 'host', 'host-key.pem');
    const corrupt = '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n';
    await writeFile(keyPath, corrupt, { mode: 0o600 });
    const r = await runCli(hostArgs(dir));
    expect(r.stderr).toContain(`p2prc: error E_CONFIG: host key ${keyPath} is not a readable PEM private key`);
    expect(r.stderr).not.toContain('DECODER');
    expect(r.code).toBe(2);
    expect(await readFile(keyPath, 'utf8')).toBe(corrupt);
  });
});
