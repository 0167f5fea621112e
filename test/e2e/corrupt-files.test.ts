import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, startCli } from '../helpers/cli.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir } = useWorkspace();
const GARBAGE = '{"half": ';

function plant(dir: string, rel: string): string {
  const file = path.join(dir, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, GARBAGE, { mode: 0o600 });
  return file;
}

function asides(file: string): string[] {
  return readdirSync(path.dirname(file)).filter((f) => f.startsWith(`${path.basename(file)}.corrupt-`));
}

/** A corrupt file: E_CONFIG (exit 2) naming it, left as it is; --repair moves it aside and the run goes on. */
async function expectOneRule(file: string, args: string[]): Promise<void> {
  const refused = await runCli(args);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('E_CONFIG');
  expect(refused.stderr).toContain(file);
  expect(refused.stderr).toContain('--repair');
  expect(readFileSync(file, 'utf8')).toBe(GARBAGE);
  const repaired = await runCli([...args, '--repair']);
  expect(repaired.stderr).toContain(`moved the corrupt file aside to ${file}.corrupt-`);
  expect(asides(file)).toHaveLength(1);
  expect(repaired.stderr).not.toContain(`${file} is not valid JSON`);
}

describe('one rule for corrupt files', () => {
  it('ip_table.json, secrets.json, config.json, client_ids.json and the users file', async () => {
    const ls = tempDir('corrupt-ls');
    await expectOneRule(plant(ls, 'p2p/iptable/ip_table.json'), ['--ls', '--config-dir', ls]);

    const hostDir = tempDir('corrupt-host');
    // Moved aside, the users file is missing: the host then says so (E_CONFIG), not that it is corrupt.
    const users = plant(hostDir, 'users.json');
    await expectOneRule(users, [
      '-s',
      '--reverse-proxy',
      '--control-port',
      '0',
      '--users',
      users,
      '--config-dir',
      hostDir,
    ]);

    const host = startCli([
      '-s',
      '--reverse-proxy',
      '--control-port',
      '0',
      '--port',
      '0',
      '--json',
      '--config-dir',
      hostDir,
    ]);
    const { port } = JSON.parse(await host.waitFor((l) => l.includes('"host-started"'))) as { port: number };
    const addr = `127.0.0.1:${port}`;
    for (const rel of ['secrets.json', 'config.json']) {
      const dir = tempDir('corrupt-list');
      await expectOneRule(plant(dir, rel), ['--list-services', addr, '--config-dir', dir]);
    }

    // client_ids.json was silently replaced: now the same rule, before anything is published.
    const client = tempDir('corrupt-client');
    const ids = plant(client, 'client_ids.json');
    const { tokenPath } = JSON.parse(host.stdout.find((l) => l.includes('"host-started"'))!) as { tokenPath: string };
    const token = readFileSync(tokenPath, 'utf8').trim();
    const connect = ['-s', '--connect-reverse-proxy', addr, '--token', token, '--port', '0', '--config-dir', client];
    const refused = await runCli([...connect, '--exit-on-login-failure']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`E_CONFIG`);
    expect(refused.stderr).toContain(ids);
    expect(readFileSync(ids, 'utf8')).toBe(GARBAGE);
    const repaired = startCli([...connect, '--repair']);
    await repaired.waitFor((l) => l.startsWith('Published:'));
    expect(repaired.stderr.join('\n')).toContain(`moved the corrupt file aside to ${ids}.corrupt-`);
    await repaired.stop();
    await host.stop();
  }, 60_000);

  it('a running node says a corrupt ip_table.json once, and keeps running', async () => {
    const dir = tempDir('corrupt-node');
    const file = plant(dir, 'p2p/iptable/ip_table.json');
    const node = startCli([
      '-s',
      '--port',
      '0',
      '--bind',
      '127.0.0.1',
      '--exchange-interval',
      '0.2',
      '--verbose',
      '--config-dir',
      dir,
    ]);
    await node.waitFor((l) => l.includes(`E_CONFIG: ${file} is not valid JSON`), 10_000, 'stderr');
    // Every round meets the same file (--verbose says each failed read): said once all the same.
    await node.waitFor(
      () => node.stderr.filter((l) => l.includes('cannot read more nodes')).length >= 3,
      10_000,
      'stderr',
    );
    expect(node.stderr.filter((l) => l.includes('E_CONFIG')).length).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe(GARBAGE);
    expect(await node.stop()).toBe(0);
  }, 20_000);
});
