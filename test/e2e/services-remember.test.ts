import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';
import { httpServer } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir } = useWorkspace();
const TOKEN = 'services-remember-token-0123456789';

async function startHost(dir: string): Promise<{ addr: string; fingerprint: string }> {
  const host = startCli(
    ['-s', '--reverse-proxy', '--control-port', '0', '--port', '0', '--json'].concat([
      '--token',
      TOKEN,
      '--config-dir',
      dir,
    ]),
  );
  const started = JSON.parse(await host.waitFor((l) => l.includes('"host-started"'))) as {
    port: number;
    fingerprint: string;
  };
  return { addr: `127.0.0.1:${started.port}`, fingerprint: started.fingerprint };
}

// What was set up once (token, pin, the owner's secret) stays set up: the next run needs only the address.
describe('services by ID remember the host and the secret', () => {
  it('owner, --list-services and --visit keep token and pin; the owner keeps its secret across restarts', async () => {
    const host = await startHost(tempDir('svc-host'));
    const web = await httpServer();
    const ownerDir = tempDir('svc-owner');
    const ownerArgs = ['-s', '--connect-reverse-proxy', host.addr, '--service', 'web', '--expose', String(web)];
    const first = startCli([
      ...ownerArgs,
      '--token',
      TOKEN,
      '--fingerprint',
      host.fingerprint,
      '--config-dir',
      ownerDir,
    ]);
    await first.waitFor((l) => l.startsWith('Service: web'));
    const secret = (await first.waitFor((l) => l.startsWith('Secret: '))).slice('Secret: '.length);
    await first.waitFor((l) => l.includes('info: token for '), 20_000, 'stderr');
    expect(await first.stop()).toBe(0);

    // Restarted with only the address: same secret, not printed again.
    const again = startCli([...ownerArgs, '--config-dir', ownerDir]);
    await again.waitFor((l) => l.startsWith('Service: web'));
    await again.waitFor((l) => l.startsWith('Visit with:'));
    expect(again.stdout.join('\n')).not.toContain('Secret:');
    expect(again.stdout.join('\n')).not.toContain(secret);

    const visitorDir = tempDir('svc-visitor');
    const firstList = await runCli([
      '--list-services',
      host.addr,
      '--token',
      TOKEN,
      '--fingerprint',
      host.fingerprint,
      '--config-dir',
      visitorDir,
    ]);
    expect(firstList.code).toBe(0);
    const list = await runCli(['--list-services', host.addr, '--json', '--config-dir', visitorDir]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).services).toEqual([expect.objectContaining({ id: 'web', online: true })]);

    // The visitor's secret from the first run still works after the owner's restart.
    const visitArgs = ['--visit', 'web', '--host', host.addr, '--secret', secret, '--direct', 'off', '--json'];
    const remembered = startCli([...visitArgs, '--config-dir', visitorDir]);
    const { localPort } = JSON.parse(await remembered.waitFor((l) => l.includes('"visiting"'))) as {
      localPort: number;
    };
    expect(await (await fetch(`http://127.0.0.1:${localPort}/x`)).text()).toBe('hello /x');
    await remembered.stop();

    // --secret replaces the kept one (printed nowhere), and the next plain restart keeps the new one.
    expect(await again.stop()).toBe(0);
    const replaced = startCli([...ownerArgs, '--secret', 'a-new-secret-for-web-123', '--config-dir', ownerDir]);
    await replaced.waitFor((l) => l.startsWith('Visit with:'));
    expect(await replaced.stop()).toBe(0);
    const kept = startCli([...ownerArgs, '--config-dir', ownerDir]);
    await kept.waitFor((l) => l.startsWith('Visit with:'));
    const withNew = startCli([
      ...visitArgs.map((a) => (a === secret ? 'a-new-secret-for-web-123' : a)),
      '--config-dir',
      visitorDir,
    ]);
    await withNew.waitFor((l) => l.includes('"visiting"'));
    await withNew.stop();
    await kept.stop();
  }, 90_000);
});
