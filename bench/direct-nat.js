// npm run bench:direct [-- --size-mib N] [--ttfb N]: a private service's download, direct vs relayed,
// between two NATed peers in the network-namespace bed (root, ip, iptables). Prints a markdown table
// for docs/benchmarks.md; figures are reported, never asserted.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDualNatBed } from './lib/dual-nat.js';

const root = path.resolve(import.meta.dirname, '..');
const CLI = path.join(root, 'bin', 'p2prc.js');
const BLOB = path.join(root, 'test', 'fixtures', 'blob.mjs');
const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);
const SIZE = opt('--size-mib', 256) * 1024 * 1024;
const TTFB_RUNS = opt('--ttfb', 30);
const procs = [];

/** Starts a program in a namespace; resolves with its first stdout line that `ready` accepts. */
function start(ns, args, ready, timeoutMs = 30_000) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(child);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line from ${args.join(' ')}: ${err}`)), timeoutMs);
    createInterface({ input: child.stdout }).on('line', (l) => ready(l) && (clearTimeout(timer), resolve(l)));
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`${args[1]} exited with ${code}: ${err}`))));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(bed, port) {
  const fetch = async (mode) => JSON.parse(await bed.exec(bed.ns.visitor, process.execPath, BLOB, mode, String(port)));
  const bulk = await fetch('fetch');
  if (bulk.bytes !== SIZE) throw new Error(`download carried ${bulk.bytes} of ${SIZE} bytes`);
  const ttfb = [];
  for (let i = 0; i < TTFB_RUNS; i++) ttfb.push((await fetch('ttfb')).firstByteMs);
  return { mbitS: (SIZE * 8) / (bulk.totalMs / 1000) / 1e6, ttfbMs: median(ttfb) };
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces)');
  const bed = await createDualNatBed();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'p2prc-bench-direct-'));
  try {
    const host = `${bed.hostIp}:7000`;
    await start(
      bed.ns.public,
      [
        CLI,
        '-s',
        '--reverse-proxy',
        '--control-port',
        '7000',
        '--public-host',
        bed.hostIp,
        '--token',
        't',
        '--port',
        '0',
        '--config-dir',
        path.join(dir, 'h'),
      ],
      (l) => l.includes('Client command:'),
    );
    const blob = Number(
      (await start(bed.ns.owner, [BLOB, 'serve', String(SIZE)], (l) => l.startsWith('listening '))).split(' ')[1],
    );
    await start(
      bed.ns.owner,
      [
        CLI,
        '-s',
        '--connect-reverse-proxy',
        host,
        '--token',
        't',
        '--service',
        'bench',
        '--secret',
        's',
        '--expose',
        String(blob),
        '--config-dir',
        path.join(dir, 'o'),
      ],
      (l) => l.startsWith('Service: '),
    );
    const rows = [];
    for (const mode of ['auto', 'off']) {
      const visitor = spawn(
        'ip',
        [
          'netns',
          'exec',
          bed.ns.visitor,
          process.execPath,
          CLI,
          '--visit',
          'bench',
          '--host',
          host,
          '--token',
          't',
          '--secret',
          's',
          '--direct',
          mode,
          '--config-dir',
          path.join(dir, `v-${mode}`),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      procs.push(visitor);
      let err = '';
      visitor.stderr.on('data', (d) => (err += d));
      // Both lines may come in one chunk: collect them all, then pick.
      const seen = [];
      await new Promise((resolve, reject) => {
        createInterface({ input: visitor.stdout }).on(
          'line',
          (l) => (seen.push(l), l.startsWith('Visiting: ') && resolve()),
        );
        visitor.once('exit', (code) => reject(new Error(`visitor (--direct ${mode}) exited with ${code}: ${err}`)));
      });
      const pathLine = seen.find((l) => l.startsWith('Path: '));
      const port = Number(/:(\d+)$/.exec(seen.find((l) => l.startsWith('Visiting: ')))[1]);
      rows.push({ path: pathLine.slice(6), ...(await measure(bed, port)) });
      visitor.kill('SIGINT');
    }
    const [direct, relayed] = rows;
    const fmt = (n) => n.toFixed(n < 10 ? 2 : 0);
    console.log(
      `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}, ${new Date().toISOString()}; ${SIZE / 1048576} MiB download, TTFB median of ${TTFB_RUNS} new connections`,
    );
    console.log('');
    console.log('| path | throughput (Mbit/s) | TTFB (ms) |');
    console.log('| --- | --- | --- |');
    for (const r of rows) console.log(`| ${r.path} | ${fmt(r.mbitS)} | ${fmt(r.ttfbMs)} |`);
    console.log(
      `| direct / relayed | ${fmt(direct.mbitS / relayed.mbitS)}x | ${fmt(direct.ttfbMs / relayed.ttfbMs)}x |`,
    );
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await bed.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
