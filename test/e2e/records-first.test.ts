import { describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startCliHost } from '../helpers/newuser.js';
import { useWorkspace } from '../helpers/workspace.js';

// Records are checked before any host is contacted; an unusable config dir is one error on both sides.
const { tempDir } = useWorkspace();

describe('records before the host', () => {
  it('a corrupt server file stops connect before it logs in: nothing published, nothing recorded, one-line message', async () => {
    const { host, port, token } = await startCliHost(tempDir('host'));
    const clientDir = tempDir('client');
    const servers = path.join(clientDir, 'reverse_proxy_server.json');
    await writeFile(servers, '{"version": 1,\n  "servers": [oops\n');
    const mappings = path.join(clientDir, 'reverse_proxy_mapping.json');
    await writeFile(mappings, JSON.stringify({ version: 1, mappings: [] }));
    const r = await runCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--token',
      token,
      '--config-dir',
      clientDir,
      '--exit-on-login-failure',
    ]);
    expect(r.code).toBe(2);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('p2prc: error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`E_CONFIG: ${servers} is not valid JSON`);
    expect(r.stderr).not.toMatch(/^\s*"servers": \[oops/m);
    expect(host.stderr.join('\n')).not.toContain('connected from');
    expect(JSON.parse(await readFile(mappings, 'utf8'))).toEqual({ version: 1, mappings: [] });
  });

  it('a config dir that cannot be written: E_CONFIG, exit 2, the path and the fix, on the host and on the client', async () => {
    const notADir = path.join(tempDir('base'), 'config');
    await writeFile(notADir, 'a file where the config directory should be');
    const host = await runCli([
      '-s',
      '--reverse-proxy',
      '--bind',
      '127.0.0.1',
      '--control-port',
      '0',
      '--port',
      '0',
      '--config-dir',
      notADir,
    ]);
    const client = await runCli([
      '-s',
      '--connect-reverse-proxy',
      '127.0.0.1:1',
      '--token',
      't',
      '--config-dir',
      notADir,
      '--exit-on-login-failure',
    ]);
    for (const r of [host, client]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`p2prc: error E_CONFIG: config directory ${notADir} is not writable`);
      expect(r.stderr).toContain('--config-dir');
    }
  });
});
