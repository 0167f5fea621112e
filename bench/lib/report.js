import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const get = (results, scenario, p) => results.find((r) => r.scenario === scenario && r.path === p && !r.error)?.value;

/**
 * The targets (docs/benchmarks.md, "Targets"), as ratios in this run; undefined when a side is missing
 * (frp absent, quick run).
 */
function targets(results) {
  const t = [];
  const ratio = (label, scenario, a, b, min) => {
    const x = get(results, scenario, a);
    const y = get(results, scenario, b);
    const measured = x && y ? x / y : undefined;
    t.push({
      target: label,
      measured,
      goal: min === undefined ? 'no target' : `>= ${min}x`,
      pass: min === undefined || measured === undefined ? undefined : measured >= min,
    });
  };
  const limit = (label, scenario, p, max, unit, base) => {
    const x = get(results, scenario, p);
    const b = base ? get(results, base, p) : 1;
    const measured = x !== undefined && b ? x / b : undefined;
    t.push({
      target: label,
      measured,
      goal: `<= ${max}${unit}`,
      pass: measured === undefined ? undefined : measured <= max,
    });
  };
  /** Lower is better: a's figure over b's, at most `max`. */
  const atMost = (label, scenario, a, b, max) => {
    const x = get(results, scenario, a);
    const y = get(results, scenario, b);
    const measured = x !== undefined && y ? x / y : undefined;
    t.push({ target: label, measured, goal: `<= ${max}x`, pass: measured === undefined ? undefined : measured <= max });
  };
  const [plain, tls, relay, frp, frpTls] = [
    'p2prc plain',
    'p2prc tls',
    'node relay (2 hops)',
    'frp 0.31.2 plain',
    'frp 0.31.2 tls',
  ];
  const service = 'p2prc service (e2e AES-GCM)';
  limit('p2prc --help vs node -e 0', 'p2prc --help', 'p2prc cli', 2, 'x', 'node -e 0');
  limit('p2prc --view-rpm --json vs node -e 0', 'p2prc --view-rpm --json', 'p2prc cli', 2, 'x', 'node -e 0');
  limit('restarted host accepting vs node -e 0', 'restarted host accepting', 'p2prc cli', 3, 'x', 'node -e 0');
  limit(
    "client's second Published: line vs node -e 0",
    'client second Published: line',
    'p2prc cli',
    5,
    'x',
    'node -e 0',
  );
  ratio('iperf3 bulk, plaintext: p2prc vs 2-hop Node relay', 'iperf3 bulk', plain, relay, 1.5);
  ratio('wrk Connection: close, plaintext: p2prc vs frp', 'wrk Connection: close', plain, frp, 1.25);
  ratio('wrk Connection: close, TLS: p2prc vs frp tls_enable', 'wrk Connection: close', tls, frpTls, 1.25);
  ratio('private service by ID, iperf3 bulk: vs p2prc tls', 'iperf3 bulk', service, tls, 0.5);
  ratio('private service by ID, wrk keep-alive: vs p2prc tls', 'wrk keep-alive', service, tls, 0.7);
  ratio('private service by ID, wrk Connection: close: vs p2prc tls', 'wrk Connection: close', service, tls, 0.7);
  for (const p of [plain, tls]) {
    limit(`KB per idle proxied conn, host (${p})`, 'KB per idle conn (host)', p, 4, ' KB');
    limit(`KB per idle proxied conn, client (${p})`, 'KB per idle conn (client)', p, 4, ' KB');
  }
  const storm = results.find((r) => / TLS clients: time to publish all$/.test(r.scenario))?.scenario;
  if (storm) {
    const n = storm.split(' ')[0];
    atMost(`${n} TLS clients: time to publish all, p2prc vs frps`, storm, tls, frpTls, 1);
    atMost(
      `${n} TLS clients: KB per client on the host, p2prc vs frps`,
      `${n} TLS clients: KB per client (host)`,
      tls,
      frpTls,
      1,
    );
  }
  // Held visitors through one TLS tunnel: a run that opened fewer than the target's number cannot pass.
  const scale = results.find((r) => r.scenario.endsWith('concurrent conns'));
  if (scale)
    t.push({
      target: `held visitors through one TLS tunnel (${scale.path})`,
      measured: scale.value,
      goal: '18000 served',
      pass: scale.failed > 0 ? false : scale.value >= 18_000 ? true : undefined,
    });
  // No target: what Node's own TLS allows (two 20-line hops, TLS between them), to read TLS figures by.
  ratio(
    'iperf3 bulk, TLS: p2prc vs 2-hop Node relay with TLS between',
    'iperf3 bulk',
    tls,
    'node relay (2 hops, TLS between)',
  );
  return t;
}

const fmt = (v) => (v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(2));

function table(headers, rows) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => `| ${r.map((c, i) => String(c).padEnd(w[i])).join(' | ')} |`;
  return [line(headers), `| ${w.map((x) => '-'.repeat(x)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** The generated part of docs/benchmarks.md lies between these two lines; the rest of the file is kept as it is. */
const BEGIN = '<!-- npm run bench: results begin -->';
const END = '<!-- npm run bench: results end -->';
/** A run judges the targets only on a quiet machine. */
const QUIET_LOAD = 0.3;

export function report({ machine, results, json, write }) {
  const goals = targets(results);
  if (json) {
    process.stdout.write(`${JSON.stringify({ machine, results, targets: goals }, null, 2)}\n`);
  }
  const baseline = (r) => get(results, r.scenario, 'direct');
  const rows = results
    .filter((r) => !r.error)
    .map((r) => [
      r.scenario,
      r.path,
      `${fmt(r.value)} ${r.unit}${r.rounds > 1 ? ` (median of ${r.rounds})` : ''}${r.retried ? ` (${r.retried} logins retried)` : ''}`,
      baseline(r) && r.unit !== 'KB' && r.unit !== 'MB' ? `${fmt(r.value / baseline(r))}x direct` : '',
    ]);
  const errors = results.filter((r) => r.error).map((r) => `- ${r.path}: ${r.error}`);
  const load = Number(String(machine.load).split(' ')[0]);
  const text = [
    `Machine: ${machine.cpus} cores (${machine.cpu}), Node ${machine.node}, fd limit ${machine.fdLimit}, load average ${machine.load}, ${machine.mode} run, ${machine.date}`,
    ...(load >= QUIET_LOAD
      ? [
          '',
          `Not a quiet machine (load average ${load} at the start; a run judges the targets only when it starts under ${QUIET_LOAD}).`,
        ]
      : []),
    '',
    table(['scenario', 'path', 'value', 'vs direct'], rows),
    '',
    table(
      ['target', 'measured', 'goal', 'result'],
      goals.map((g) => [g.target, fmt(g.measured), g.goal, g.pass === undefined ? 'n/a' : g.pass ? 'PASS' : 'MISS']),
    ),
    ...(errors.length ? ['', 'Skipped or failed:', ...errors] : []),
  ].join('\n');
  if (!json) process.stdout.write(`${text}\n`);
  if (write) {
    // Only the part between the markers is replaced; nothing is appended.
    const file = path.join(import.meta.dirname, '..', '..', 'docs', 'benchmarks.md');
    let doc;
    try {
      doc = readFileSync(file, 'utf8');
    } catch (err) {
      process.stderr.write(`${file} not written: ${err.message}\n`);
      return;
    }
    const begin = doc.indexOf(BEGIN);
    const end = doc.indexOf(END, begin);
    if (begin < 0 || end < 0) {
      process.stderr.write(`${file} not written: it has no "${BEGIN}" ... "${END}" lines\n`);
      return;
    }
    writeFileSync(file, `${doc.slice(0, begin + BEGIN.length)}\n\n${text}\n\n${doc.slice(end)}`);
  }
}
