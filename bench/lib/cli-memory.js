// The idle client as a user runs it: `p2prc -s --connect-reverse-proxy` (node server, discovery,
// config.json, TLS on by default) against `p2prc -s --reverse-proxy`, both the built CLI. Its RSS is
// read when the Published: line is out, then right after visitors, then once it has been idle long
// enough for V8's memory reducer (it gives the young generation back about 8 s after the last full
// collection when the process allocates little). The CLI runs from a copy
// of the package at a path like a global install's (<prefix>/lib/node_modules/p2prc): Node's loader
// does path work per file on the full path, and at the checkout's short path a client loading many
// files stayed under V8's threshold for optimizing it where a real install did not.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, rssKB } from './proc.js';

const ROOT = path.join(import.meta.dirname, '..', '..');

/** Copies what the package ships (bin, dist, vendor/frp.json, package.json) under `prefix` as npm -g would place it; its dependencies are the checkout's. */
function installLike(prefix) {
  const home = path.join(prefix, 'lib', 'node_modules', 'p2prc');
  mkdirSync(home, { recursive: true });
  // vendor/ as the package ships it: frp.json, not binaries `p2prc frp install` may have put beside it.
  for (const part of ['bin', 'dist', 'vendor/frp.json', 'package.json'])
    cpSync(path.join(ROOT, part), path.join(home, part), { recursive: true });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(home, 'node_modules'), 'dir');
  return path.join(home, 'bin', 'p2prc.js');
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Spawns the CLI; resolves with the child and the first stdout line `test` accepts (rejects on exit or after `ms`). */
async function startUntil(cli, args, test, ms = 20_000) {
  const child = spawn(process.execPath, [cli, ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, P2PRC_TOKEN: '' },
  });
  const lines = createInterface({ input: child.stdout });
  try {
    const line = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no expected line within ${ms} ms: ${args.join(' ')}`)), ms);
      lines.on('line', (l) => test(l) && (clearTimeout(timer), resolve(l)));
      child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`exited with ${code}: ${args.join(' ')}`))));
      child.once('error', (err) => (clearTimeout(timer), reject(err)));
    });
    return { child, line };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/** `n` visitors one after another, each a new connection asking the node server for its table. */
async function visitors(port, n) {
  for (let i = 0; i < n; i++) {
    await new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () =>
        s.end('GET /ip_table HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n'),
      );
      s.setTimeout(5_000, () => s.destroy(new Error('a visitor got no answer within 5 s')));
      s.on('data', () => undefined);
      s.on('close', resolve);
      s.on('error', reject);
    });
  }
}

export async function cliClientMemory({ quick }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'p2prc-bench-climem-'));
  const children = [];
  // Bounded as a whole: past the deadline both CLIs are killed, which ends whatever step waits on them.
  const deadline = setTimeout(() => children.forEach((c) => c.kill('SIGKILL')), quick ? 30_000 : 90_000);
  try {
    const cli = installLike(path.join(dir, 'usr-local'));
    const control = await freePort();
    const token = 'bench-memory-token';
    const host = await startUntil(
      cli,
      [
        '-s',
        '--reverse-proxy',
        '--bind',
        '127.0.0.1',
        '--control-port',
        String(control),
        '--port',
        '0',
        '--token',
        token,
        '--config-dir',
        path.join(dir, 'host'),
      ],
      (l) => l.includes('Control address'),
    );
    children.push(host.child);
    const client = await startUntil(
      cli,
      [
        '-s',
        '--connect-reverse-proxy',
        `127.0.0.1:${control}`,
        '--token',
        token,
        '--config-dir',
        path.join(dir, 'client'),
      ],
      (l) => l.startsWith('Published:'),
    );
    children.push(client.child);
    const publicPort = Number(/^Published: \S+:(\d+) /.exec(client.line)[1]);
    const pid = client.child.pid;
    const rss = () => {
      const kb = rssKB(pid);
      if (!(kb > 0)) throw new Error('the client is gone');
      return kb / 1024;
    };
    await sleep(quick ? 500 : 2_000); // a quick run is a smoke test: its figures are not compared
    const out = { published: rss(), visitors: quick ? 50 : 500 };
    await visitors(publicPort, out.visitors);
    out.afterVisitors = rss();
    if (!quick) {
      await sleep(20_000);
      out.idle = rss();
    }
    return out;
  } finally {
    clearTimeout(deadline);
    for (const c of children)
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await once(c, 'exit');
      }
    rmSync(dir, { recursive: true, force: true });
  }
}
