import { describe, expect, it } from 'vitest';
import { listServices } from '../../../src/index.js';
import { ServiceRegistry } from '../../../src/services/registry.js';
import { makeUser } from '../../../src/services/accounts.js';
import type { ClientSession } from '../../../src/host/session.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI } from '../../helpers/cli.js';
import { client, echoServer, host } from '../../helpers/engine.js';
import { useWorkspace } from '../../helpers/workspace.js';

const { tempDir } = useWorkspace();

const owner = (clientId: string) =>
  ({
    clientId,
    name: clientId,
    principal: 'addr:127.0.0.1',
    acceptVisitor: () => undefined,
  }) as unknown as ClientSession;

// With many IDs the list is still delivered: as one answer it would exceed the frame cap (E_TOO_LARGE), so it is paged.
describe('the service list is paged', () => {
  it('pages in id order within the byte budget, at least one entry per page (pure)', () => {
    const reg = new ServiceRegistry({ perPrincipal: 100 });
    for (let i = 0; i < 50; i++) reg.register(owner('a'), `s${String(i).padStart(2, '0')}`, 'x'.repeat(100));
    const seen: string[] = [];
    let after = '';
    for (let pages = 0; pages < 50; pages++) {
      const page = reg.listPage(after, 1_000);
      expect(page.services.length).toBeGreaterThan(0);
      expect(JSON.stringify(page.services).length).toBeLessThan(1_000 + 200);
      seen.push(...page.services.map((s) => s.id));
      if (!page.next) break;
      after = page.next;
    }
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => `s${String(i).padStart(2, '0')}`));
    expect(reg.listPage('', 1).services).toHaveLength(1); // an entry larger than the budget still goes out
  });

  it('a host holding 640 IDs of 20 owners lists them all, to the library and to the CLI', async () => {
    // 20 accounts (the quota is per account, else per address: loopback is one) at the cap of 32 each:
    // about 170 KB of list, more than two 72 KB frames.
    const users = Array.from({ length: 20 }, (_, o) => makeUser(`u${o}`, `password-${o}`));
    const h = await host({ tls: false, users });
    const echo = await echoServer();
    const description = 'd'.repeat(200);
    await Promise.all(
      Array.from(
        { length: 20 },
        (_, o) =>
          client(h, {
            tls: false,
            tunnels: [],
            user: { name: `u${o}`, password: `password-${o}` },
            services: Array.from({ length: 32 }, (_, i) => ({
              id: `o${o}-s${i}`,
              secret: 'generated-secret-0123456789',
              localPort: echo,
              description,
            })),
          }).ready,
      ),
    );
    const listed = await listServices({
      host: '127.0.0.1',
      port: h.port,
      token: h.token,
      tls: false,
      user: { name: 'u0', password: 'password-0' },
    });
    expect(listed).toHaveLength(640);
    expect(new Set(listed.map((s) => s.id)).size).toBe(640);
    const dir = tempDir('list');
    // execFile, not runCli: it waits for stdout to close (200 KB of output may trail the exit event), and
    // a slow reader is what cut the CLI's output short before it drained stdout on exit.
    const cli = await promisify(execFile)(
      process.execPath,
      [
        CLI,
        '--list-services',
        `127.0.0.1:${h.port}`,
        '--token',
        h.token,
        '--no-tls',
        '--json',
        '--config-dir',
        dir,
        '--user',
        'u0',
      ],
      { maxBuffer: 16 * 1024 * 1024, timeout: 30_000, env: { ...process.env, P2PRC_PASSWORD: 'password-0' } },
    );
    // Nothing on stderr but the note that the token is now kept for this host (stdout stays pure JSON).
    expect(
      cli.stderr
        .trim()
        .split('\n')
        .filter((l) => l && !/^token for \S+ stored in /.test(l)),
    ).toEqual([]);
    expect((JSON.parse(cli.stdout) as { services: unknown[] }).services).toHaveLength(640);
  }, 60_000);
});
