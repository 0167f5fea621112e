import { describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, startCli } from '../../helpers/cli.js';
import { httpServer } from '../../helpers/engine.js';
import { useWorkspace } from '../../helpers/workspace.js';

const { tempDir } = useWorkspace();

/** The stored pins: secrets.json (config.json holds none). */
async function pins(dir: string): Promise<Record<string, string>> {
  const read = (name: string) => readFile(path.join(dir, name), 'utf8').catch(() => '{}');
  expect(JSON.parse(await read('config.json'))).not.toHaveProperty('fingerprints');
  return (JSON.parse(await read('secrets.json')) as { fingerprints?: Record<string, string> }).fingerprints ?? {};
}

// A malformed --fingerprint must not turn pinning off, nor be saved as the pin.
describe('--fingerprint must be a SHA-256 fingerprint', () => {
  it('refuses malformed pins with exit 2 for connect, --list-services and --visit, stores nothing; a stored unparsable pin is a mismatch', async () => {
    const dir = tempDir('pin');
    const host = startCli([
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
    ]);
    const started = JSON.parse(await host.waitFor((l) => l.includes('"host-started"'))) as {
      port: number;
      fingerprint: string;
    };
    const addr = `127.0.0.1:${started.port}`;
    const sha1 = 'AB:'.repeat(19) + 'AB';
    const truncated = started.fingerprint.slice(0, -3);
    const web = await httpServer();
    for (const bad of ['AA:BB:CC', truncated, sha1, `${started.fingerprint}:00`]) {
      const list = await runCli(['--list-services', addr, '--fingerprint', bad, '--config-dir', dir]);
      expect(list.code, `list ${bad}: ${list.stderr}`).toBe(2);
      expect(list.stderr).toContain('E_USAGE');
    }
    // openssl's default (SHA-1) fingerprint on every other command that takes --fingerprint.
    const visit = await runCli([
      '--visit',
      'web',
      '--host',
      addr,
      '--secret',
      's',
      '--fingerprint',
      sha1,
      '--config-dir',
      dir,
    ]);
    expect(visit.code, visit.stderr).toBe(2);
    const connect = await runCli([
      '-s',
      '--connect-reverse-proxy',
      addr,
      '--fingerprint',
      sha1,
      '--expose',
      String(web),
      '--exit-on-login-failure',
      '--config-dir',
      dir,
    ]);
    expect(connect.code, connect.stderr).toBe(2);
    const owner = await runCli([
      '-s',
      '--connect-reverse-proxy',
      addr,
      '--service',
      'web',
      '--fingerprint',
      sha1,
      '--config-dir',
      dir,
    ]);
    expect(owner.code, owner.stderr).toBe(2);
    expect(await pins(dir)).toEqual({});

    // Any case, with or without colons, is the same pin.
    const bare = started.fingerprint.replace(/:/g, '').toLowerCase();
    expect((await runCli(['--list-services', addr, '--fingerprint', bare, '--config-dir', dir])).code).toBe(0);

    // A stored pin that does not parse must not mean "no pin".
    const secrets = path.join(dir, 'secrets.json');
    const stored = JSON.parse(await readFile(secrets, 'utf8').catch(() => '{}')) as Record<string, unknown>;
    await writeFile(secrets, JSON.stringify({ ...stored, fingerprints: { [addr]: 'AA:BB:CC' } }), { mode: 0o600 });
    const stale = await runCli(['--list-services', addr, '--config-dir', dir]);
    expect(stale.code, stale.stderr).toBe(6);
    expect(stale.stderr).toContain('E_TLS');
  }, 90_000);
});
