// npm run bench [-- --quick] [--json] [--no-write]: p2prc against direct, a plain Node relay and frp,
// measured in one run on this machine. Targets are reported as ratios, never asserted.
import { execFileSync, spawnSync } from 'node:child_process';
import os from 'node:os';
import { scenarios } from './lib/scenarios.js';
import { stopAll } from './lib/proc.js';
import { report } from './lib/report.js';

const args = new Set(process.argv.slice(2));
// 10,000 proxied connections need about 20,000 descriptors on the host: re-run under a raised limit.
if (!process.env.P2PRC_BENCH_CHILD) {
  const r = spawnSync(
    'bash',
    [
      '-c',
      'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"',
      process.execPath,
      ...process.argv.slice(1),
    ],
    {
      stdio: 'inherit',
      env: { ...process.env, P2PRC_BENCH_CHILD: '1' },
    },
  );
  process.exit(r.status ?? 1);
}

const quick = args.has('--quick');
const machine = {
  date: new Date().toISOString(),
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  node: process.version,
  fdLimit: Number(execFileSync('bash', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()),
  mode: quick ? 'quick' : 'full',
  load: os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' '),
};
let results;
let failed = false;
try {
  results = await scenarios({ quick, log: (m) => !args.has('--json') && process.stderr.write(`${m}\n`) });
  failed = results.some((r) => r.error && r.p2prc);
} finally {
  await stopAll();
}
report({
  machine,
  results,
  json: args.has('--json'),
  write: (!quick && !args.has('--no-write')) || args.has('--write'),
});
// Exit now: a finished scenario may leave a timer or a lingering socket (the 10 s wait of a client
// worker's port check, a peer's half-closed connection) that would hold the process for seconds more.
// stdout and stderr are synchronous for files and pipes on POSIX, so the report is out.
process.exit(failed ? 1 : 0);
