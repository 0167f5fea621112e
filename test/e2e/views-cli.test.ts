import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CLI, runCli } from '../helpers/cli.js';
import { freePort, startCliHost } from '../helpers/newuser.js';
import { useWorkspace } from '../helpers/workspace.js';

// --view-rps and --view-rpm as a new user meets them.
const VERSION = (
  JSON.parse(await readFile(path.resolve(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;
const { tempDir, defer } = useWorkspace();
/** A config dir; a test may make it read-only, so it is made writable again before it is removed. */
const fresh = (label: string) => {
  const d = tempDir(label);
  defer(() => chmod(d, 0o700));
  return d;
};

const OLD = '2020-01-01T00:00:00.000Z';
const serverRow = (id: string, port: number, fingerprint: string | null) => ({
  id,
  address: '127.0.0.1',
  controlPort: port,
  fingerprint,
  tls: fingerprint !== null,
  version: null,
  engine: 'native',
  source: 'local',
  firstSeen: OLD,
  lastSeen: OLD,
});
const serversFile = (rows: object[]) => `${JSON.stringify({ version: 1, servers: rows }, null, 2)}\n`;

describe('--view-rps', () => {
  it('a probe that reaches a live host moves LAST SEEN and fills VERSION, in the file too; a down host keeps its row', async () => {
    const hostDir = fresh('rps-host');
    const dir = fresh('rps-client');
    const { host } = await startCliHost(hostDir);
    const started = JSON.parse(host.stdout.find((l) => l.includes('"host-started"'))!) as {
      port: number;
      fingerprint: string;
    };
    const closed = await freePort();
    await writeFile(
      path.join(dir, 'reverse_proxy_server.json'),
      serversFile([serverRow('live', started.port, started.fingerprint), serverRow('gone', closed, null)]),
    );
    const before = Date.now();
    const r = await runCli(['--view-rps', '--json', '--config-dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    const shown = (
      JSON.parse(r.stdout) as {
        servers: Array<{ id: string; state: string; version: string | null; lastSeen: string }>;
      }
    ).servers;
    const live = shown.find((s) => s.id === 'live')!;
    expect(live.state).toBe('alive');
    expect(live.version).toBe(VERSION);
    expect(Date.parse(live.lastSeen)).toBeGreaterThanOrEqual(before - 1_000);
    expect(shown.find((s) => s.id === 'gone')).toMatchObject({ state: 'down', version: null, lastSeen: OLD });
    const onDisk = (
      JSON.parse(await readFile(path.join(dir, 'reverse_proxy_server.json'), 'utf8')) as { servers: typeof shown }
    ).servers;
    expect(onDisk.find((s) => s.id === 'live')).toMatchObject({ version: VERSION, lastSeen: live.lastSeen });
    expect(onDisk.find((s) => s.id === 'gone')).toMatchObject({ version: null, lastSeen: OLD });
    const table = await runCli(['--view-rps', '--config-dir', dir]);
    expect(table.stdout).toMatch(new RegExp(`${started.port}.*${VERSION.replace(/\./g, '\\.')}.*alive`));
  });

  it('says the file does not exist yet on a fresh config dir', async () => {
    const dir = fresh('rps-none');
    const r = await runCli(['--view-rps', '--config-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${path.join(dir, 'reverse_proxy_server.json')} does not exist yet`);
  });
});

/** Runs `node args` as `uid` (another user when we are root, since root ignores directory modes). */
function runAs(uid: number | undefined, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { ...(uid !== undefined ? { uid, gid: uid } : {}), timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('--repair in a read-only config dir', () => {
  it('succeeds without writing when the file is valid', async () => {
    const dir = fresh('rps-ro');
    const file = path.join(dir, 'reverse_proxy_server.json');
    await writeFile(file, serversFile([serverRow('gone', await freePort(), null)]), { mode: 0o644 });
    // Root is not stopped by a mode, so as root the CLI runs as "nobody" in a root-owned 0555 dir.
    const uid = process.getuid?.() === 0 ? 65534 : undefined;
    await chmod(dir, uid === undefined ? 0o500 : 0o555);
    const probe = await runAs(uid, [
      '-e',
      `require('node:fs').writeFileSync(${JSON.stringify(path.join(dir, 'x'))}, '')`,
    ]);
    expect(probe.code, 'the directory must really be read-only for the CLI').not.toBe(0);
    const before = await readFile(file, 'utf8');
    const r = await runAs(uid, [CLI, '--view-rps', '--repair', '--offline', '--config-dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('record file is valid; nothing to repair');
    expect(r.stdout).toContain('unknown');
    expect(await readFile(file, 'utf8')).toBe(before);
  });
});

describe('--view-rpm', () => {
  it('tells a missing mapping file from an empty one', async () => {
    const dir = fresh('rpm-none');
    const none = await runCli(['--view-rpm', '--config-dir', dir]);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain(
      `No tunnels recorded yet (${path.join(dir, 'reverse_proxy_mapping.json')} does not exist yet)`,
    );
    await writeFile(path.join(dir, 'reverse_proxy_mapping.json'), JSON.stringify({ version: 1, mappings: [] }));
    const empty = await runCli(['--view-rpm', '--config-dir', dir]);
    expect(empty.stdout).toContain(`${path.join(dir, 'reverse_proxy_mapping.json')} is empty`);
  });
});

describe('--view-clients without an admin API', () => {
  it('says plainly that connected clients cannot be seen, and what the records show', async () => {
    const dir = tempDir('clients');
    const r = await runCli(['--view-clients', '--config-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Connected clients are shown only by a host started with --admin-port/);
    expect(r.stdout).toMatch(
      /No host started from .* is running \(its records list none\); clients are not recorded here\./,
    );
  });
});
