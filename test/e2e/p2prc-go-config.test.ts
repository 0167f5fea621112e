import { describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, startCli } from '../helpers/cli.js';
import { startCliHost } from '../helpers/newuser.js';
import { useWorkspace } from '../helpers/workspace.js';

// P2PRC's Go reads `$P2PRC/config.json` and opens the table its IPTable key names: a config dir p2prc
// made must carry that key, keep what Go (or anyone) wrote there, and hold no secret.
const { tempDir } = useWorkspace();

const FIXTURE = path.resolve(import.meta.dirname, '..', 'fixtures', 'p2prc-go-config');
const config = async (d: string) =>
  JSON.parse(await readFile(path.join(d, 'config.json'), 'utf8')) as Record<string, unknown>;
const SECRET_KEYS = ['token', 'hostTokens', 'fingerprints', 'trustedFingerprints'];

const goMissing = spawnSync('go', ['version']).status === 0 ? undefined : 'no Go toolchain on PATH';
if (goMissing) console.warn(`Go reading p2prc's config.json skipped: ${goMissing}`);

/** test/fixtures/p2prc-go-config: finds the table as P2PRC's Go does, from env P2PRC. */
async function goReads(d: string): Promise<{ IPTable: string; ServerPort: string; entries: number; error: string }> {
  const env = {
    ...process.env,
    P2PRC: d,
    GOCACHE: process.env.GOCACHE ?? '/tmp/p2prc-gocache',
    GOPATH: process.env.GOPATH ?? '/tmp/p2prc-gopath',
    GOPROXY: 'off',
    GOFLAGS: '',
  };
  const { stdout } = await promisify(execFile)('go', ['run', 'main.go'], { cwd: FIXTURE, env, timeout: 120_000 });
  return JSON.parse(stdout) as { IPTable: string; ServerPort: string; entries: number; error: string };
}

describe("config.json is P2PRC's too", () => {
  it('`--as` on a fresh dir writes IPTable (absolute, the table p2prc uses) and ServerPort; Go finds the table through it', async () => {
    const d = path.join(tempDir('go-config'), 'fresh');
    expect((await runCli(['--as', '203.0.113.7', '--p', '8090', '--config-dir', d])).code).toBe(0);
    const table = path.join(d, 'p2p', 'iptable', 'ip_table.json');
    expect(await config(d)).toEqual({ IPTable: table, ServerPort: '8088' });
    expect((await stat(path.join(d, 'config.json'))).mode & 0o777).toBe(0o600);
    if (goMissing) return;
    expect(await goReads(d)).toEqual({ IPTable: table, ServerPort: '8088', entries: 1, error: '' });
  }, 150_000);

  it("keeps another program's keys and values across p2prc's writes; an old config.json's token moves to secrets.json", async () => {
    const hostDir = tempDir('go-host');
    const { port, token } = await startCliHost(hostDir);
    // A host's own config dir gets the keys too.
    expect(await config(hostDir)).toMatchObject({ IPTable: path.join(hostDir, 'p2p', 'iptable', 'ip_table.json') });
    expect(Object.keys(await config(hostDir))).not.toEqual(expect.arrayContaining(['token']));

    const d = tempDir('go-client');
    const foreign = { MachineName: 'go-node-abc', ServerPort: '9099', CustomConfig: null, BehindNAT: true };
    // What an older p2prc left: the client's token for this host, in config.json.
    await writeFile(
      path.join(d, 'config.json'),
      JSON.stringify({ ...foreign, hostTokens: { [`127.0.0.1:${port}`]: token } }),
      { mode: 0o600 },
    );
    const client = startCli(['-s', '--connect-reverse-proxy', `127.0.0.1:${port}`, '--expose', '1', '--config-dir', d]);
    await client.waitFor((l) => l.startsWith('Published:'));
    await client.stop('SIGINT');
    const after = await config(d);
    expect(after).toEqual({ ...foreign, IPTable: path.join(d, 'p2p', 'iptable', 'ip_table.json') });
    for (const k of SECRET_KEYS) expect(after, k).not.toHaveProperty(k);
    expect(JSON.stringify(after)).not.toContain(token);
    const secrets = JSON.parse(await readFile(path.join(d, 'secrets.json'), 'utf8')) as {
      hostTokens: Record<string, string>;
      fingerprints: Record<string, string>;
    };
    expect(secrets.hostTokens[`127.0.0.1:${port}`]).toBe(token);
    expect(Object.keys(secrets.fingerprints)).toEqual([`127.0.0.1:${port}`]);
    expect((await stat(path.join(d, 'secrets.json'))).mode & 0o777).toBe(0o600);
  }, 60_000);
});
