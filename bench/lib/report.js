import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const get = (results, scenario, p) => results.find((r) => r.scenario === scenario && r.path === p && !r.error)?.value;

/** Targets from issue 8, as ratios in this run; undefined when a side is missing (frp absent, quick run). */
function targets(results) {
  const t = [];
  const ratio = (label, scenario, a, b, min) => {
    const x = get(results, scenario, a);
    const y = get(results, scenario, b);
    const measured = x && y ? x / y : undefined;
    t.push({ target: label, measured, goal: min === undefined ? 'cost, no target' : `>= ${min}x`, pass: min === undefined || measured === undefined ? undefined : measured >= min });
  };
  const limit = (label, scenario, p, max, unit) => {
    const x = get(results, scenario, p);
    t.push({ target: label, measured: x, goal: `<= ${max} ${unit}`, pass: x === undefined ? undefined : x <= max });
  };
  for (const s of ['bulk 1 conn', 'bulk 8 conns']) {
    ratio(`${s}: p2prc vs frp (plain)`, s, 'p2prc plain', 'frp 0.31.2 plain', 2.5);
    ratio(`${s}: p2prc vs 2-hop Node relay`, s, 'p2prc plain', 'node relay (2 hops)', 0.8);
    ratio(`${s}: p2prc TLS vs frp tls_enable`, s, 'p2prc tls', 'frp 0.31.2 tls', 2);
  }
  ratio('service, end-to-end encrypted: bulk vs p2prc plain', 'bulk 1 conn', 'p2prc service (e2e AES-GCM)', 'p2prc plain', undefined);
  ratio('service, end-to-end encrypted: keep-alive req/s vs p2prc plain', 'http keep-alive', 'p2prc service (e2e AES-GCM)', 'p2prc plain', undefined);
  ratio('keep-alive req/s: p2prc vs frp', 'http keep-alive', 'p2prc plain', 'frp 0.31.2 plain', 1.1);
  ratio('keep-alive req/s: p2prc vs 2-hop relay', 'http keep-alive', 'p2prc plain', 'node relay (2 hops)', 0.9);
  ratio('new conn/s: p2prc vs frp', 'http new conn', 'p2prc plain', 'frp 0.31.2 plain', 1.25);
  limit('KB per idle proxied conn, host', 'KB per idle conn (host)', 'p2prc plain', 20, 'KB');
  limit('KB per idle proxied conn, client', 'KB per idle conn (client)', 'p2prc plain', 20, 'KB');
  limit('KB per idle client on the host', 'KB per idle client (host)', 'p2prc plain', 40, 'KB');
  limit('idle client RSS', 'idle RSS client', 'p2prc plain', 60, 'MB');
  limit('client start to public port answering', 'client start to public port', 'p2prc plain', 300, 'ms');
  const scale = results.find((r) => r.scenario.endsWith('concurrent conns'));
  if (scale) t.push({ target: scale.scenario, measured: scale.value, goal: 'all served', pass: scale.failed === 0 });
  return t;
}

const fmt = (v) => (v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(2));

function table(headers, rows) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => `| ${r.map((c, i) => String(c).padEnd(w[i])).join(' | ')} |`;
  return [line(headers), `| ${w.map((x) => '-'.repeat(x)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

export function report({ machine, results, json, write }) {
  const goals = targets(results);
  if (json) {
    process.stdout.write(`${JSON.stringify({ machine, results, targets: goals }, null, 2)}\n`);
  }
  const baseline = (r) => get(results, r.scenario, 'direct');
  const rows = results.filter((r) => !r.error).map((r) => [r.scenario, r.path, `${fmt(r.value)} ${r.unit}`, baseline(r) && r.unit !== 'KB' && r.unit !== 'MB' ? `${fmt(r.value / baseline(r))}x direct` : '']);
  const errors = results.filter((r) => r.error).map((r) => `- ${r.path}: ${r.error}`);
  const text = [
    `Machine: ${machine.cpus} cores (${machine.cpu}), Node ${machine.node}, fd limit ${machine.fdLimit}, ${machine.mode} run, ${machine.date}`,
    '',
    table(['scenario', 'path', 'value', 'vs direct'], rows),
    '',
    table(['target', 'measured', 'goal', 'result'], goals.map((g) => [g.target, fmt(g.measured), g.goal, g.pass === undefined ? 'n/a' : g.pass ? 'PASS' : 'MISS'])),
    ...(errors.length ? ['', 'Skipped or failed:', ...errors] : []),
  ].join('\n');
  if (!json) process.stdout.write(`${text}\n`);
  if (write) {
    const file = path.join(import.meta.dirname, '..', '..', 'docs', 'benchmarks.md');
    const intro = '# Benchmarks\n\nReproduce with `npm run bench` (full, writes this file) or `npm run bench -- --quick` (CI smoke, under a minute).\nEverything runs on loopback in one process tree: target services, a plain two-hop Node relay, p2prc host and client,\nand frp 0.31.2 when a binary is found (`P2PRC_FRP_BIN_DIR`), each in its own process. Ratios come from the same run.\n\n';
    let notes = '';
    try {
      const old = readFileSync(file, 'utf8');
      const i = old.indexOf('## Notes');
      if (i >= 0) notes = `\n${old.slice(i)}`;
    } catch {
      // first run
    }
    writeFileSync(file, `${intro}## Latest full run\n\n${text}\n${notes}`);
  }
}
