import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';
import { httpServer } from '../helpers/engine.js';
import { startCliHost } from '../helpers/newuser.js';
import { useWorkspace } from '../helpers/workspace.js';

// The node server's /server_info shows this machine's platform, CPU, RAM and disk: --no-publish-node
// keeps it off the host, and publishes the --expose tunnels alone.
const { tempDir } = useWorkspace();

describe('--no-publish-node', () => {
  it('publishes the --expose tunnels and not the node server', async () => {
    const { port, token } = await startCliHost(tempDir('nopub-host'), ['--no-tls']);
    const web = await httpServer();
    const dir = tempDir('nopub-client');
    const client = startCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--no-tls',
      '--token',
      token,
      '--no-publish-node',
      '--expose',
      `web=${web}`,
      '--json',
      '--config-dir',
      dir,
    ]);
    const published = JSON.parse(await client.waitFor((l) => l.includes('"published"'))) as {
      name: string;
      publicAddress: string;
    };
    expect(published.name).toBe('web');
    const res = await fetch(`http://${published.publicAddress}/seen`);
    expect(await res.text()).toBe('hello /seen');
    const rpm = await runCli(['--view-rpm', '--json', '--config-dir', dir]);
    const names = (JSON.parse(rpm.stdout) as { mappings: Array<{ name: string }> }).mappings.map((m) => m.name);
    expect(names).toContain('web');
    expect(names).not.toContain('node');
    expect(client.stdout.filter((l) => l.includes('"published"'))).toHaveLength(1);
  });

  it("with nothing else to publish, or with --remote-port (the node server's port): E_USAGE, exit 2", async () => {
    const base = ['-s', '--connect-reverse-proxy', '127.0.0.1:1', '--token', 't', '--exit-on-login-failure'];
    const alone = await runCli([...base, '--no-publish-node', '--config-dir', tempDir('nopub-alone')]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('E_USAGE: --no-publish-node leaves nothing to publish: add --expose');
    const remote = await runCli([
      ...base,
      '--no-publish-node',
      '--remote-port',
      '6001',
      '--expose',
      '3000',
      '--config-dir',
      tempDir('nopub-remote'),
    ]);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain('E_USAGE: --remote-port and --no-publish-node contradict each other');
  });
});
