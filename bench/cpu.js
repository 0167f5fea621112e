// node bench/cpu.js [--rounds N] [--seconds S] [--kind bulk|http] [--paths a,b]
// CPU time per unit of work for every path of the bench (2-hop Node relay, p2prc, frp): the two hops'
// utime+stime per GB under iperf3 and per 1,000 requests under wrk. A busy machine disturbs these far
// less than rates, so this is how a change is judged when the cores are shared. Median of N rounds.
import os from 'node:os';
import { iperf, iperfServer, missingTools, wrk } from './lib/native.js';
import { paths } from './lib/paths.js';
import { measured, stopAll, worker } from './lib/proc.js';

const argv = process.argv.slice(2);
const word = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const rounds = Number(word('--rounds') ?? 3);
const seconds = Number(word('--seconds') ?? 3);
const kind = word('--kind');
const only = word('--paths')?.split(',');
const missing = missingTools();
if (missing) {
  console.error(`bench/cpu.js needs ${missing}`);
  process.exit(1);
}

const list = paths().list.filter(
  (p) => p.name !== 'direct' && !p.name.includes('service') && (!only || only.some((o) => p.name.includes(o))),
);
const bulk = await iperfServer();
const http = await worker('target', ['http']);
const samples = new Map();
const add = (k, v) => (samples.get(k) ?? samples.set(k, []).get(k)).push(v);
for (let round = 0; round < rounds; round++) {
  for (const p of list) {
    for (const [k, target] of [
      ['bulk', bulk.port],
      ['http', http.port],
    ].filter(([k]) => !kind || k === kind)) {
      const route = await p.open(target);
      try {
        if (k === 'bulk') {
          const r = await measured(route, () => iperf(route.port, seconds));
          add(`${p.name}|iperf3 Gbit/s`, r.value);
          add(`${p.name}|iperf3 CPU s/GB`, r.cpu / ((r.value * seconds) / 8));
        } else {
          for (const close of [false, true]) {
            const r = await measured(route, () => wrk(route.port, { seconds, close }));
            const name = close ? 'close' : 'keep-alive';
            add(`${p.name}|wrk ${name} req/s`, r.value);
            add(`${p.name}|wrk ${name} CPU ms/1k`, (r.cpu * 1e6) / (r.value * seconds));
          }
        }
      } finally {
        await route.close();
      }
    }
    process.stderr.write(`round ${round + 1}/${rounds} ${p.name}\n`);
  }
}
bulk.close();
await stopAll();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `${os.cpus().length} cores, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}, ${rounds} rounds of ${seconds} s\n`,
);
const figures = [...new Set([...samples.keys()].map((k) => k.split('|')[1]))];
console.log(`| path | ${figures.join(' | ')} |\n| --- |${figures.map(() => ' --- |').join('')}`);
for (const p of list)
  console.log(
    `| ${p.name} | ${figures.map((f) => (samples.has(`${p.name}|${f}`) ? median(samples.get(`${p.name}|${f}`)).toFixed(2) : '')).join(' | ')} |`,
  );
