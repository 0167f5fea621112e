// node bench/ab.js <checkout A> <checkout B> [--rounds N] [--seconds S] [--only plain|tls] [--kind bulk|http]
// Before/after comparison of two built checkouts of p2prc (each with its own node_modules and dist),
// pair by pair: every round opens the same p2prc path (plaintext, TLS) from A and from B, in
// alternating order, and measures each with iperf3 (bulk) and wrk (keep-alive and Connection: close).
// Reports the median of B/A per figure, and the CPU time host and client spent per GB and per 1,000
// requests, which a busy machine disturbs far less than rates. Bounded: rounds x paths x 3 runs.
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { iperf, iperfServer, missingTools, wrk } from './lib/native.js';
import { measured, stopAll, worker } from './lib/proc.js';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const [dirA, dirB] = argv.filter((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
if (!dirA || !dirB) {
  console.error('usage: node bench/ab.js <checkout A> <checkout B> [--rounds N] [--seconds S]');
  process.exit(2);
}
const missing = missingTools();
if (missing) {
  console.error(`bench/ab.js needs ${missing}`);
  process.exit(1);
}
const rounds = opt('--rounds', 3);
const word = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const only = word('--only');
const kind = word('--kind');
const seconds = opt('--seconds', 3);

async function pathsOf(dir) {
  const { paths } = await import(pathToFileURL(path.join(path.resolve(dir), 'bench/lib/paths.js')).href);
  return paths({ withFrp: false }).list.filter(
    (p) => (p.name === 'p2prc plain' || p.name === 'p2prc tls') && (!only || p.name.endsWith(only)),
  );
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const sides = { A: await pathsOf(dirA), B: await pathsOf(dirB) };
const bulkTarget = await iperfServer();
const http = await worker('target', ['http']);
const samples = {}; // key -> { A: [], B: [] }
const add = (key, side, v) => (samples[key] ??= { A: [], B: [] })[side].push(v);

for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < sides.A.length; i++) {
    const order = round % 2 ? ['B', 'A'] : ['A', 'B'];
    for (const side of order) {
      const p = sides[side][i];
      for (const [k, target] of [
        ['bulk', bulkTarget.port],
        ['http', http.port],
      ].filter(([k]) => !kind || k === kind)) {
        const route = await p.open(target);
        try {
          if (k === 'bulk') {
            const r = await measured(route, () => iperf(route.port, seconds));
            add(`${p.name} iperf3 Gbit/s`, side, r.value);
            add(`${p.name} iperf3 CPU s/GB`, side, r.cpu / ((r.value * seconds) / 8));
            add(`${p.name} iperf3 page faults/MB`, side, r.faults / ((r.value * seconds * 1000) / 8));
          } else {
            for (const close of [false, true]) {
              const r = await measured(route, () => wrk(route.port, { seconds, close }));
              const name = `${p.name} wrk ${close ? 'close' : 'keep-alive'}`;
              add(`${name} rps`, side, r.value);
              add(`${name} CPU ms/1k req`, side, (r.cpu * 1e6) / (r.value * seconds));
            }
          }
        } finally {
          await route.close();
        }
      }
      process.stderr.write(`round ${round + 1}/${rounds} ${side} ${p.name} done\n`);
    }
  }
}
bulkTarget.close();
await stopAll();

console.log(
  `A = ${dirA}\nB = ${dirB}\n${os.cpus().length} cores, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}, ${rounds} rounds of ${seconds} s\n`,
);
console.log('| figure | A (median) | B (median) | B/A (median of pairs) |\n| --- | --- | --- | --- |');
for (const [key, { A, B }] of Object.entries(samples)) {
  const ratios = A.map((a, i) => B[i] / a);
  console.log(`| ${key} | ${median(A).toFixed(2)} | ${median(B).toFixed(2)} | ${median(ratios).toFixed(3)} |`);
}
