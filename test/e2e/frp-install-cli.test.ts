import { beforeEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { useWorkspace } from '../helpers/workspace.js';
import { writeTar } from '../../src/frp/tar.js';

// `p2prc frp install` from the built CLI against a local mirror (P2PRC_FRP_MIRROR), with the package's
// own vendor/frp.json: into the config dir, the newest version by default, --version to pick.
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const manifest = JSON.parse(await readFile(path.join(ROOT, 'vendor', 'frp.json'), 'utf8')) as {
  versions: Record<string, { checksums: string; platforms: Record<string, string> }>;
};
const byNumber = (a: string, b: string) => {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
};
const versions = Object.keys(manifest.versions).sort(byNumber);
const newest = versions[versions.length - 1]!;
const oldest = versions[0]!;

const { tempDir, defer } = useWorkspace();
let server: http.Server;
let mirror: string;
let dir: string;
beforeEach(async () => {
  const routes = new Map<string, Buffer>();
  for (const [version, release] of Object.entries(manifest.versions)) {
    const file = release.platforms['linux-amd64']!;
    const archive = gzipSync(
      writeTar(
        ['frps', 'frpc'].map((name) => ({ name: `frp/${name}`, data: Buffer.from(`#!/bin/sh\necho ${version}\n`) })),
      ),
    );
    routes.set(`/v${version}/${file}`, archive);
    routes.set(
      `/v${version}/${release.checksums}`,
      Buffer.from(`${createHash('sha256').update(archive).digest('hex')}  ${file}\n`),
    );
  }
  server = http.createServer((req, res) => {
    const body = routes.get(req.url ?? '');
    res.statusCode = body ? 200 : 404;
    res.end(body ?? 'not found');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  mirror = `http://127.0.0.1:${(server.address() as { port: number }).port}/v{version}/`;
  dir = tempDir('frp-install');
});

describe('p2prc frp install', () => {
  it('installs the newest manifest version into the config dir, --version picks another; frp which finds them there', async () => {
    const first = await runCli(['frp', 'install', '--platform', 'linux-amd64', '--config-dir', dir], {
      P2PRC_FRP_MIRROR: mirror,
    });
    expect(first.code, first.stderr).toBe(0);
    const target = path.join(dir, 'frp', newest, 'linux-amd64');
    expect(first.stdout).toBe(`Installed frp ${newest} (linux-amd64) in ${target}`);
    expect((await readdir(target)).sort()).toEqual(['frpc', 'frps']);
    await expect(stat(path.join(ROOT, 'vendor', 'frp', newest))).rejects.toThrow();

    const picked = await runCli([
      'frp',
      'install',
      '--version',
      oldest,
      '--platform',
      'linux-amd64',
      '--mirror',
      mirror,
      '--json',
      '--config-dir',
      dir,
    ]);
    expect(picked.code, picked.stderr).toBe(0);
    expect(JSON.parse(picked.stdout)).toMatchObject({
      version: oldest,
      dir: path.join(dir, 'frp', oldest, 'linux-amd64'),
    });

    if (process.platform === 'linux' && process.arch === 'x64') {
      const which = await runCli(['frp', 'which', '--json', '--config-dir', dir], { PATH: '', P2PRC_FRP_BIN_DIR: '' });
      expect(which.code, which.stderr).toBe(0);
      expect(JSON.parse(which.stdout)).toEqual(
        ['frps', 'frpc'].map((p) => ({ path: path.join(target, p), version: newest, source: 'installed' })),
      );
    }
  });

  it('an unknown --version is E_USAGE naming the known ones', async () => {
    const r = await runCli(['frp', 'install', '--version', '9.9.9', '--config-dir', dir], { P2PRC_FRP_MIRROR: mirror });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`frp 9.9.9 is not in`);
    expect(r.stderr).toContain(newest);
  });

  it('a mirror that refuses the connection: E_DOWNLOAD with the URL and the cause, not just "fetch failed"', async () => {
    const closed = http.createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as { port: number };
    await new Promise((r) => closed.close(r));
    const r = await runCli(['frp', 'install', '--platform', 'linux-amd64', '--config-dir', dir], {
      P2PRC_FRP_MIRROR: `http://127.0.0.1:${port}/v{version}/`,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `E_DOWNLOAD: cannot download http://127\\.0\\.0\\.1:${port}/v${newest.replace(/\./g, '\\.')}/\\S+: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`,
        'm',
      ),
    );
  });
});
