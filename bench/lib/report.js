import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const get = (results, scenario, p) => results.find((r) => r.scenario === scenario && r.path === p && !r.error)?.value;

/** Targets from issue 16 (and 8 before it), as ratios in this run; undefined when a side is missing (frp absent, quick run). */
function targets(results) {
  const t = [];
  const ratio = (label, scenario, a, b, min) => {
    const x = get(results, scenario, a);
    const y = get(results, scenario, b);
    const measured = x && y ? x / y : undefined;
    t.push({ target: label, measured, goal: min === undefined ? 'cost, no target' : `>= ${min}x`, pass: min === undefined || measured === undefined ? undefined : measured >= min });
  };
  const limit = (label, scenario, p, max, unit, base) => {
    const x = get(results, scenario, p);
    const b = base ? get(results, base, p) : 1;
    const measured = x !== undefined && b ? x / b : undefined;
    t.push({ target: label, measured, goal: `<= ${max}${unit}`, pass: measured === undefined ? undefined : measured <= max });
  };
  const [plain, tls, relay, frp, frpTls] = ['p2prc plain', 'p2prc tls', 'node relay (2 hops)', 'frp 0.31.2 plain', 'frp 0.31.2 tls'];
  ratio('iperf3 bulk, plaintext: p2prc vs frp', 'iperf3 bulk', plain, frp, 2.5);
  ratio('iperf3 bulk, plaintext: p2prc vs 2-hop Node relay', 'iperf3 bulk', plain, relay, 0.8);
  ratio('iperf3 bulk, TLS: p2prc vs frp tls_enable', 'iperf3 bulk', tls, frpTls, 2);
  ratio('iperf3 bulk, TLS: p2prc vs plaintext 2-hop relay', 'iperf3 bulk', tls, relay, 0.5);
  // Not a target: what Node's own TLS allows (two 20-line hops, TLS between them), to read the two above by.
  ratio('iperf3 bulk, TLS: p2prc vs 2-hop Node relay with TLS between', 'iperf3 bulk', tls, 'node relay (2 hops, TLS between)', undefined);
  ratio('wrk keep-alive, plaintext: p2prc vs frp', 'wrk keep-alive', plain, frp, 1.1);
  ratio('wrk keep-alive, plaintext: p2prc vs 2-hop relay', 'wrk keep-alive', plain, relay, 0.9);
  ratio('wrk keep-alive, TLS: p2prc vs frp tls_enable', 'wrk keep-alive', tls, frpTls, 1.1);
  ratio('wrk keep-alive, TLS: p2prc vs plaintext 2-hop relay', 'wrk keep-alive', tls, relay, 0.9);
  ratio('wrk Connection: close, plaintext: p2prc vs frp', 'wrk Connection: close', plain, frp, 1.25);
  ratio('wrk Connection: close, TLS: p2prc vs frp tls_enable', 'wrk Connection: close', tls, frpTls, 1.25);
  ratio('service, end-to-end encrypted: bulk vs p2prc plain', 'bulk 1 conn', 'p2prc service (e2e AES-GCM)', plain, undefined);
  for (const p of [plain, tls]) {
    limit(`KB per idle proxied conn, host (${p})`, 'KB per idle conn (host)', p, 20, ' KB');
    limit(`KB per idle proxied conn, client (${p})`, 'KB per idle conn (client)', p, 20, ' KB');
  }
  // The library's client (the bench worker) right after its TTFB visitors, and the CLI's as users run it.
  limit('idle client RSS (library client, after visitors)', 'idle RSS client', plain, 60, ' MB');
  limit('idle client RSS (CLI client, at Published:)', 'client RSS at Published:', 'p2prc cli (tls)', 60, ' MB');
  limit('idle client RSS (CLI client, 20 s after visitors)', 'client RSS idle 20 s after visitors', 'p2prc cli (tls)', 60, ' MB');
  limit('KB per idle client on the host', 'KB per idle client (host)', plain, 40, ' KB');
  limit('p2prc --help vs node -e 0', 'p2prc --help', 'p2prc cli', 2, 'x', 'node -e 0');
  limit('p2prc --view-rpm --json vs node -e 0', 'p2prc --view-rpm --json', 'p2prc cli', 2, 'x', 'node -e 0');
  limit('restarted host accepting vs node -e 0', 'restarted host accepting', 'p2prc cli', 3, 'x', 'node -e 0');
  limit("client's second Published: line vs node -e 0", 'client second Published: line', 'p2prc cli', 5, 'x', 'node -e 0');
  const scale = results.find((r) => r.scenario.endsWith('concurrent conns'));
  if (scale) t.push({ target: `${scale.scenario} (${scale.path})`, measured: scale.value, goal: 'all served', pass: scale.failed === 0 });
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
  const rows = results.filter((r) => !r.error).map((r) => [r.scenario, r.path, `${fmt(r.value)} ${r.unit}${r.rounds > 1 ? ` (median of ${r.rounds})` : ''}`, baseline(r) && r.unit !== 'KB' && r.unit !== 'MB' ? `${fmt(r.value / baseline(r))}x direct` : '']);
  const errors = results.filter((r) => r.error).map((r) => `- ${r.path}: ${r.error}`);
  const text = [
    `Machine: ${machine.cpus} cores (${machine.cpu}), Node ${machine.node}, fd limit ${machine.fdLimit}, load average ${machine.load}, ${machine.mode} run, ${machine.date}`,
    '',
    table(['scenario', 'path', 'value', 'vs direct'], rows),
    '',
    table(['target (issue 16)', 'measured', 'goal', 'result'], goals.map((g) => [g.target, fmt(g.measured), g.goal, g.pass === undefined ? 'n/a' : g.pass ? 'PASS' : 'MISS'])),
    ...(errors.length ? ['', 'Skipped or failed:', ...errors] : []),
  ].join('\n');
  if (!json) process.stdout.write(`${text}\n`);
  if (write) {
    const file = path.join(import.meta.dirname, '..', '..', 'docs', 'benchmarks.md');
    const intro = '# Benchmarks\n\nReproduce with `npm run bench` (full, writes this file) or `npm run bench -- --quick` (CI smoke, under a minute).\nEverything runs on loopback in one process tree: target services, a plain two-hop Node relay, p2prc host and client,\nand frp 0.31.2 when a binary is found (`P2PRC_FRP_BIN_DIR`), each in its own process. Ratios come from the same run.\nThe reference figures come from native load generators, `iperf3` (bulk) and `wrk` (HTTP, 2 threads, 50 connections,\n1 KB answers): `apt-get install iperf3 wrk`. The Node loaders (bulk, autocannon, TTFB, footprint) run beside them.\n\n';
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
