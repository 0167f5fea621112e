import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, startCli } from '../helpers/cli.js';
import { startCliHost } from '../helpers/newuser.js';
import { useWorkspace } from '../helpers/workspace.js';

// The client's node server listens where its record says: loopback by default,
// --bind to change it. No traffic goes to a non-loopback address: the listening socket is read from ss.
const { tempDir } = useWorkspace();

const hasSs = (() => {
  try {
    execFileSync('ss', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** The local addresses `pid` listens on for TCP, as ss prints them ("127.0.0.1:4000", "[::1]:4000", "0.0.0.0:4000"). */
function listening(pid: number): string[] {
  return execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => l.trim().split(/\s+/)[3]!);
}

async function client(bind: string[]): Promise<{ pid: number; published: string; dir: string }> {
  const hostDir = tempDir('bind-host');
  const dir = tempDir('bind-client');
  const { port, token } = await startCliHost(hostDir);
  const c = startCli([
    '-s',
    '--connect-reverse-proxy',
    `127.0.0.1:${port}`,
    '--token',
    token,
    ...bind,
    '--config-dir',
    dir,
  ]);
  const published = await c.waitFor((l) => l.startsWith('Published:') && l.endsWith('(node)'));
  return { pid: c.child.pid!, published, dir };
}

describe.skipIf(!hasSs)('the node server bind address (needs ss from iproute2 to read listening sockets)', () => {
  it('is loopback by default, as the mapping record says', async () => {
    const { pid, published, dir } = await client([]);
    const local = /-> 127\.0\.0\.1:(\d+) \(node\)$/.exec(published)![1]!;
    expect(listening(pid)).toContain(`127.0.0.1:${local}`);
    expect(listening(pid).filter((a) => a.endsWith(`:${local}`))).toEqual([`127.0.0.1:${local}`]);
    const rows = (
      JSON.parse(await readFile(path.join(dir, 'reverse_proxy_mapping.json'), 'utf8')) as {
        mappings: Array<{ name: string; localHost: string; localPort: number }>;
      }
    ).mappings;
    expect(rows.find((m) => m.name === 'node')).toMatchObject({ localHost: '127.0.0.1', localPort: Number(local) });
  });

  it('--bind ::1 listens there only, and the tunnel still reaches it', async () => {
    const { pid, published } = await client(['--bind', '::1']);
    const m = /^Published: (\S+) -> \[::1\]:(\d+) \(node\)$/.exec(published)!;
    expect(m, published).not.toBeNull();
    expect(listening(pid).filter((a) => a.endsWith(`:${m[2]}`))).toEqual([`[::1]:${m[2]}`]);
    const res = await fetch(`http://${m[1]}/server_info`);
    expect(res.status).toBe(200);
  });

  it('--bind 0.0.0.0 listens on every interface (checked on the socket, not by sending to one)', async () => {
    const { pid, published } = await client(['--bind', '0.0.0.0']);
    const local = /-> 127\.0\.0\.1:(\d+) \(node\)$/.exec(published)![1]!;
    expect(listening(pid).filter((a) => a.endsWith(`:${local}`))).toEqual([`0.0.0.0:${local}`]);
  });
});

describe('--bind on connect', () => {
  it('must be an IP address', async () => {
    const dir = tempDir('bind-bad');
    const r = await runCli([
      '-s',
      '--connect-reverse-proxy',
      '127.0.0.1:1',
      '--token',
      't',
      '--bind',
      'example',
      '--config-dir',
      dir,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('p2prc: error E_USAGE: invalid --bind "example"');
  });
});
