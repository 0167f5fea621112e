import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { parsePublished, startCli } from '../helpers/cli.js';
import { freePort, startCliHost } from '../helpers/newuser.js';
import { useWorkspace } from '../helpers/workspace.js';

// `--expose <port>` with nothing listening: warned at start, and again while visitors fail.
const { tempDir } = useWorkspace();

/** One visitor on the public port: what it got before the connection ended. */
async function visit(port: number, send = 'hello'): Promise<string> {
  const s = net.connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.on('error', () => undefined); // a reset is one way the empty reply ends; 'close' follows either way
  const closed = new Promise((resolve) => s.on('close', resolve));
  s.write(send);
  s.end();
  await Promise.race([
    closed,
    new Promise((_, reject) =>
      setTimeout(
        () => reject(new Error(`visitor on ${port} not closed; got ${Buffer.concat(chunks).toString()}`)),
        10_000,
      ),
    ),
  ]);
  return Buffer.concat(chunks).toString();
}

describe('--expose of a port nothing listens on', () => {
  it('warns at start, warns again (once, naming the port) while visitors fail, and again after the service went away', async () => {
    const hostDir = tempDir('empty-host');
    const dir = tempDir('empty-client');
    const { port, token } = await startCliHost(hostDir);
    const empty = await freePort();
    const client = startCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--token',
      token,
      '--expose',
      String(empty),
      '--config-dir',
      dir,
    ]);
    const pub = parsePublished(
      await client.waitFor((l) => l.startsWith('Published:') && l.endsWith(`(expose-${empty})`)),
    );
    await client.waitFor(
      (l) => l.includes(`nothing listens on 127.0.0.1:${empty} (expose-${empty})`),
      10_000,
      'stderr',
    );
    const failing = (l: string) =>
      l.includes(`local service 127.0.0.1:${empty} unreachable:`) &&
      l.includes(`(expose-${empty}: visitors get an empty reply`);

    expect(await visit(pub.port)).toBe('');
    await client.waitFor(failing, 10_000, 'stderr');
    for (let i = 0; i < 5; i++) expect(await visit(pub.port)).toBe('');

    // A service comes up and answers; when it goes away, the next visitor's failure is said at once.
    const conns = new Set<net.Socket>();
    const svc = net.createServer((s) => (conns.add(s), s.on('close', () => conns.delete(s)), s.end('up')));
    svc.listen(empty, '127.0.0.1');
    await once(svc, 'listening');
    expect(await visit(pub.port)).toBe('up');
    await new Promise((resolve) => (svc.close(resolve), conns.forEach((c) => c.destroy())));
    expect(await visit(pub.port)).toBe('');
    await client.waitFor(() => client.stderr.filter(failing).length >= 2, 10_000, 'stderr');
    // Lines arrive in order: the five held-back failures would have been printed before the second warning.
    expect(client.stderr.filter(failing)).toHaveLength(2);
    expect(await client.stop('SIGINT')).toBe(0);
  });
});
