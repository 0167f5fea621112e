import { describe, expect, it } from 'vitest';
import os from 'node:os';
import { runCli, startCli } from '../../helpers/cli.js';
import { useWorkspace } from '../../helpers/workspace.js';

const { tempDir } = useWorkspace();

interface Entry {
  Name: unknown;
  MachineUsername: unknown;
  ServerPort: unknown;
}

/** A node server from the built CLI; its own /ip_table entry and /server_info, over real HTTP. */
async function nodeAnswers(extra: string[]): Promise<{ self: Entry; info: Record<string, unknown> }> {
  const dir = tempDir('identity');
  const node = startCli(['-s', '--port', '0', '--bind', '127.0.0.1', '--json', '--config-dir', dir, ...extra]);
  const { port } = JSON.parse(await node.waitFor((l) => l.includes('"node-started"'))) as { port: number };
  const table = (await (await fetch(`http://127.0.0.1:${port}/ip_table`)).json()) as { ip_address: Entry[] };
  const info = (await (await fetch(`http://127.0.0.1:${port}/server_info`)).json()) as Record<string, unknown>;
  const self = table.ip_address.find((e) => e.ServerPort === String(port));
  if (!self) throw new Error(`no entry for port ${port} in ${JSON.stringify(table)}`);
  return { self, info };
}

// /ip_table is unauthenticated: it must not expose the user who runs the node (MachineUsername) or the host name.
describe('who runs the node is opt-in', () => {
  it('by default /ip_table and /server_info carry empty strings in the same fields', async () => {
    const { self, info } = await nodeAnswers([]);
    // Present and strings: P2PRC's Go nodes decode Name and MachineUsername as string, Hostname too.
    expect(self).toMatchObject({ Name: '', MachineUsername: '' });
    expect(info).toHaveProperty('Hostname', '');
    expect(Object.keys(info).slice(0, 6)).toEqual(['Hostname', 'Platform', 'CPU', 'RAM', 'Disk', 'GPU']);
  }, 30_000);

  it('--share-identity puts the host name and user name back; --help documents it', async () => {
    const { self, info } = await nodeAnswers(['--share-identity']);
    expect(self).toMatchObject({ Name: os.hostname(), MachineUsername: os.userInfo().username });
    expect(info).toHaveProperty('Hostname', os.hostname());
    expect((await runCli(['-s', '--help'])).stdout).toContain('--share-identity');
  }, 30_000);
});
