import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { runCli, startCli } from '../helpers/cli.js';
import { httpServer } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir } = useWorkspace();

describe('services by ID from the CLI', () => {
  it('registers, lists, visits; wrong secret exits 3, unknown id exits 5; records show service and visitor', async () => {
    const dir = tempDir('svc');
    const web = await httpServer();
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
    const { port } = JSON.parse(await host.waitFor((l) => l.includes('"host-started"'))) as { port: number };
    const addr = `127.0.0.1:${port}`;
    const owner = startCli([
      '-s',
      '--connect-reverse-proxy',
      addr,
      '--service',
      'web',
      '--description',
      'demo site',
      '--expose',
      String(web),
      '--config-dir',
      dir,
    ]);
    await owner.waitFor((l) => l.startsWith('Service: web'));
    const secret = (await owner.waitFor((l) => l.startsWith('Secret: '))).slice('Secret: '.length);
    const list = await runCli(['--list-services', addr, '--json', '--config-dir', dir]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).services).toEqual([
      expect.objectContaining({ id: 'web', description: 'demo site', online: true }),
    ]);
    expect(list.stdout).not.toContain(secret);
    const table = await runCli(['--list-services', addr, '--config-dir', dir]);
    expect(table.stdout).toMatch(/ID\s+DESCRIPTION\s+OWNER\s+STATE/);
    // Relayed on purpose (loopback only here); the NAT bed tests the direct path.
    const visitor = startCli([
      '--visit',
      'web',
      '--host',
      addr,
      '--secret',
      secret,
      '--local-port',
      '0',
      '--direct',
      'off',
      '--json',
      '--config-dir',
      dir,
    ]);
    expect(JSON.parse(await visitor.waitFor((l) => l.includes('"path"')))).toMatchObject({
      event: 'path',
      kind: 'relayed',
    });
    const { localPort } = JSON.parse(await visitor.waitFor((l) => l.includes('"visiting"'))) as { localPort: number };
    expect(await (await fetch(`http://127.0.0.1:${localPort}/through-the-relay`)).text()).toBe(
      'hello /through-the-relay',
    );
    const wrong = await runCli(['--visit', 'web', '--host', addr, '--secret', 'nope', '--config-dir', dir]);
    expect(wrong.code).toBe(3);
    // The secret is said to be wrong, never the service to be down.
    expect(wrong.stderr).toContain('E_SECRET: the secret was not accepted (wrong secret for service ID web)');
    expect(wrong.stderr).not.toMatch(/unavailable|offline|could not prove/);
    const unknown = await runCli(['--visit', 'nothing', '--host', addr, '--secret', secret, '--config-dir', dir]);
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toContain('E_NOT_FOUND');
    const rpm = JSON.parse((await runCli(['--view-rpm', '--json', '--config-dir', dir])).stdout) as {
      mappings: Array<{ kind: string; state: string; path?: string }>;
    };
    expect(rpm.mappings.map((m) => m.kind).sort()).toEqual(['service', 'visitor']);
    expect(rpm.mappings.find((m) => m.kind === 'visitor')!.path).toBe('relayed');
    expect((await runCli(['--help', '--visit', 'x'])).stdout).toMatch(/Examples:/);
  }, 60_000);

  it('with --users, listing and visiting need an account; only SCRAM keys are stored, never the password', async () => {
    const dir = tempDir('users');
    const users = path.join(dir, 'users.json');
    const add = await runCli(['--add-user', 'alice', '--users', users, '--config-dir', dir], {
      P2PRC_PASSWORD: 'wonderland',
    });
    expect(add.code).toBe(0);
    const { readFile } = await import('node:fs/promises');
    const stored = await readFile(users, 'utf8');
    expect(stored).not.toContain('wonderland');
    expect(JSON.parse(stored).users[0]).toMatchObject({
      name: 'alice',
      salt: expect.stringMatching(/^[0-9a-f]{64}$/),
      storedKey: expect.stringMatching(/^[0-9a-f]{64}$/),
      serverKey: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const web = await httpServer();
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
      '--users',
      users,
      '--config-dir',
      dir,
    ]);
    const { port } = JSON.parse(await host.waitFor((l) => l.includes('"host-started"'))) as { port: number };
    const addr = `127.0.0.1:${port}`;
    const owner = startCli([
      '-s',
      '--connect-reverse-proxy',
      addr,
      '--service',
      'web',
      '--secret',
      'service-secret',
      '--expose',
      String(web),
      '--config-dir',
      dir,
    ]);
    await owner.waitFor((l) => l.startsWith('Service: web'));
    expect((await runCli(['--list-services', addr, '--config-dir', dir])).code).toBe(3);
    expect(
      (await runCli(['--list-services', addr, '--user', 'alice', '--password', 'wrong-pass', '--config-dir', dir]))
        .code,
    ).toBe(3);
    expect(
      (await runCli(['--list-services', addr, '--user', 'mallory', '--password', 'wonderland', '--config-dir', dir]))
        .code,
    ).toBe(3);
    const ok = await runCli(['--list-services', addr, '--user', 'alice', '--json', '--config-dir', dir], {
      P2PRC_PASSWORD: 'wonderland',
    });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).services[0].id).toBe('web');
    expect(
      (await runCli(['--visit', 'web', '--host', addr, '--secret', 'service-secret', '--config-dir', dir])).code,
    ).toBe(3);
    const visitor = startCli([
      '--visit',
      'web',
      '--host',
      addr,
      '--secret',
      'service-secret',
      '--user',
      'alice',
      '--password',
      'wonderland',
      '--direct',
      'off',
      '--json',
      '--config-dir',
      dir,
    ]);
    const { localPort } = JSON.parse(await visitor.waitFor((l) => l.includes('"visiting"'))) as { localPort: number };
    expect(await (await fetch(`http://127.0.0.1:${localPort}/alice`)).text()).toBe('hello /alice');
  }, 60_000);
});
