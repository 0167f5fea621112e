// Startup as ratios to `node -e 0` in the same run (median of several): the CLI printing help, a
// records view, a restarted host accepting on its control port, a client's second Published: line.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { freePort } from './proc.js';
import os from 'node:os';
import path from 'node:path';

const CLI = path.join(import.meta.dirname, '..', '..', 'bin', 'p2prc.js');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timeExit(args, env) {
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: 'ignore', env: { ...process.env, ...env } });
  await once(child, 'exit');
  return performance.now() - started;
}

function connects(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

/** ms from spawn until `ready(child)` resolves; the child is then killed and awaited. */
async function timeUntil(args, env, ready) {
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ...env } });
  try {
    await Promise.race([
      ready(child),
      once(child, 'exit').then(([c]) => {
        throw new Error(`exited with ${c} before it was ready`);
      }),
    ]);
    return performance.now() - started;
  } finally {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
}

async function accepting(port, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await connects(port))) {
    if (Date.now() > deadline) throw new Error(`port ${port} not accepting after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function lines(child, prefix, count) {
  return new Promise((resolve) => {
    let seen = 0;
    let buf = '';
    child.stdout.on('data', (c) => {
      buf += c;
      const all = buf.split('\n');
      buf = all.pop();
      for (const l of all) if (l.startsWith(prefix) && ++seen === count) resolve();
    });
  });
}

export async function startupRatios({ quick, targetPort }) {
  const rounds = quick ? 3 : 7;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'p2prc-bench-startup-'));
  // No P2PRC_* variables: the CLI reads them as options, and --view-rpm has no --token.
  const env = {};
  const cfg = ['--config-dir', path.join(dir, 'cfg')];
  const out = {};
  try {
    const t = { node: [], help: [], rpm: [], host: [], client: [] };
    const controlPort = await freePort();
    const host = [
      '-s',
      '--reverse-proxy',
      '--control-port',
      String(controlPort),
      '--bind',
      '127.0.0.1',
      '--no-tls',
      '--port',
      '0',
      '--token',
      'bench-startup-token',
      ...cfg,
    ];
    // The first start makes the token and the certificate; restarts only read them.
    await timeUntil([CLI, ...host], env, () => accepting(controlPort));
    for (let i = 0; i < rounds; i++) {
      t.node.push(await timeExit(['-e', '0'], env));
      t.help.push(await timeExit([CLI, '--help'], env));
      t.rpm.push(await timeExit([CLI, '--view-rpm', '--json', ...cfg], env));
      t.host.push(await timeUntil([CLI, ...host], env, () => accepting(controlPort)));
    }
    const running = spawn(process.execPath, [CLI, ...host], { stdio: 'ignore', env: { ...process.env, ...env } });
    try {
      await accepting(controlPort);
      const client = [
        '-s',
        '--connect-reverse-proxy',
        `127.0.0.1:${controlPort}`,
        '--no-tls',
        '--port',
        '0',
        '--token',
        'bench-startup-token',
        '--expose',
        String(targetPort),
        '--name',
        'bench',
      ];
      for (let i = 0; i < rounds; i++)
        t.client.push(
          await timeUntil([CLI, ...client, '--config-dir', path.join(dir, `client${i}`)], env, (c) =>
            lines(c, 'Published:', 2),
          ),
        );
    } finally {
      running.kill('SIGKILL');
    }
    for (const [k, v] of Object.entries(t)) out[k] = median(v);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
