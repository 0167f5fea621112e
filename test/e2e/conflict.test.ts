import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';
import { useWorkspace } from '../helpers/workspace.js';

// A name someone else holds on the host (a service ID, an HTTP domain) is refused at once: exit 4, no retry loop.
const { tempDir } = useWorkspace();

async function host(extra: string[] = []): Promise<{ addr: string; token: string }> {
  const dir = tempDir('conflict-host');
  const h = startCli([
    '-s',
    '--reverse-proxy',
    '--bind',
    '127.0.0.1',
    '--control-port',
    '0',
    '--port',
    '0',
    '--token',
    'tok',
    '--json',
    '--config-dir',
    dir,
    ...extra,
  ]);
  const { port } = JSON.parse(await h.waitFor((l) => l.includes('"host-started"'))) as { port: number };
  return { addr: `127.0.0.1:${port}`, token: 'tok' };
}

const client = (addr: string, ...args: string[]) => [
  '-s',
  '--connect-reverse-proxy',
  addr,
  '--token',
  'tok',
  '--port',
  '0',
  '--config-dir',
  tempDir('conflict-client'),
  ...args,
];

describe('a name held by another owner', () => {
  for (const extra of [[], ['--exit-on-login-failure']]) {
    it(`a taken service ID exits 4 at once ${extra.join(' ')}`, async () => {
      const { addr } = await host();
      const owner = startCli(client(addr, '--service', 'db'));
      await owner.waitFor((l) => l.startsWith('Service: db'));
      const second = await runCli(client(addr, '--service', 'db', ...extra), {}, 15_000);
      expect(second.stderr).toContain('p2prc: error E_CONFLICT: service id db is registered by another owner');
      expect(second.stderr).not.toContain('retrying');
      expect(second.code).toBe(4);
    });
  }

  it('a claimed HTTP domain exits 4 at once', async () => {
    const { addr } = await host(['--vhost-http-port', '0', '--subdomain-host', 'example.test']);
    const first = startCli(client(addr, '--expose', 'http:3000@app'));
    await first.waitFor((l) => l.startsWith('Published: http://app.example.test'));
    const second = await runCli(client(addr, '--expose', 'http:3001@app'), {}, 15_000);
    expect(second.stderr).toContain('E_CONFLICT');
    expect(second.stderr).not.toContain('retrying');
    expect(second.code).toBe(4);
  });
});
