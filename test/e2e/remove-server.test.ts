import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { useWorkspace } from '../helpers/workspace.js';

// --as takes IP addresses only; --remove-server (--rs) takes a node out of ip_table.json again.
const { tempDir } = useWorkspace();

const table = async (dir: string) =>
  (
    JSON.parse(await readFile(path.join(dir, 'p2p', 'iptable', 'ip_table.json'), 'utf8')) as {
      ip_address: Array<{ IPV4: string; IPV6: string; ServerPort: string }>;
    }
  ).ip_address;

describe('--as validation', () => {
  for (const bad of ['not-an-ip', 'example.com:8088', '300.1.2.3', '1.2.3.4:99999']) {
    it(`--as ${bad}: E_USAGE, exit 2, nothing written`, async () => {
      const dir = tempDir('as');
      const r = await runCli(['--as', bad, '--config-dir', dir]);
      expect(r.stderr).toContain('p2prc: error E_USAGE:');
      expect(r.stderr).toContain(bad.split(':').pop());
      expect(r.code).toBe(2);
    });
  }
});

describe('--remove-server', () => {
  it('removes a node --as added (text and --json), and says E_NOT_FOUND (exit 5) when it is not there', async () => {
    const dir = tempDir('rs');
    for (const a of ['203.0.113.5', '203.0.113.6:9000', '[2001:db8::1]:8088'])
      expect((await runCli(['--as', a, '--config-dir', dir])).code).toBe(0);
    const text = await runCli(['--remove-server', '203.0.113.5', '--config-dir', dir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Removed 203.0.113.5:8088 from');
    const json = await runCli(['--rs', '[2001:DB8:0::1]:8088', '--json', '--config-dir', dir]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ event: 'server-removed', server: '[2001:db8::1]:8088' });
    expect(await table(dir)).toEqual([expect.objectContaining({ IPV4: '203.0.113.6', ServerPort: '9000' })]);

    const absent = await runCli(['--rs', '203.0.113.6', '--json', '--config-dir', dir]);
    expect(absent.code).toBe(5);
    expect(absent.stderr).toContain('p2prc: error E_NOT_FOUND: no node at 203.0.113.6:8088');
    expect(JSON.parse(absent.stdout)).toMatchObject({ error: { code: 'E_NOT_FOUND' } });
    expect(await table(dir)).toHaveLength(1);

    const bad = await runCli(['--rs', 'nope', '--config-dir', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('E_USAGE: invalid --remove-server address "nope"');
  });

  it('on a fresh directory: E_NOT_FOUND, and no file is created', async () => {
    const dir = tempDir('rs-fresh');
    const r = await runCli(['--rs', '203.0.113.5:8088', '--config-dir', dir]);
    expect(r.code).toBe(5);
    await expect(readFile(path.join(dir, 'p2p', 'iptable', 'ip_table.json'))).rejects.toThrow();
  });
});
