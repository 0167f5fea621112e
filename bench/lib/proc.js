import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const WORKERS = path.join(import.meta.dirname, '..', 'workers');
const live = new Set();

/** Forks a bench worker and resolves with its first IPC message (its ports). BENCH_WORKER_ARGS adds Node flags to every worker (`--perf-basic-prof`, `--trace-deopt`: profiling a path). */
export async function worker(name, args = []) {
  const child = fork(path.join(WORKERS, `${name}.js`), args.map(String), {
    execArgv: ['--expose-gc', ...(process.env.BENCH_WORKER_ARGS?.split(' ').filter(Boolean) ?? [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  const [msg] = await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`${name} exited with ${code}`);
    }),
  ]);
  return { child, ...msg, pid: child.pid };
}

const TICK_S = 0.01; // USER_HZ is 100 on Linux

/** utime + stime of a process, in seconds, and its minor page faults. */
export function usage(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { cpu: (Number(fields[11]) + Number(fields[12])) * TICK_S, faults: Number(fields[7]) };
}

/** `fn`'s result, and the CPU seconds and minor page faults the route's processes spent during it. */
export async function measured(route, fn) {
  const pids = Object.values(route.pids);
  const before = pids.map(usage);
  const value = await fn();
  const after = pids.map(usage);
  const sum = (k) => after.reduce((n, a, i) => n + a[k] - before[i][k], 0);
  return { value, cpu: sum('cpu'), faults: sum('faults') };
}

export function rssKB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

export async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
  live.delete(child);
}

export async function stopAll() {
  await Promise.all([...live].map(stop));
}

/** Waits until a TCP port accepts a connection (bounded; frp offers no readiness event we can await here). */
export async function waitPort(port, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} not answering after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The directory $P2PRC_FRP_BIN_DIR names when it holds frps and frpc; undefined otherwise. */
export function frpDir() {
  const dir = process.env.P2PRC_FRP_BIN_DIR;
  if (!dir) return undefined;
  return existsSync(path.join(dir, 'frps')) && existsSync(path.join(dir, 'frpc')) ? dir : undefined;
}

/** A loopback port that was free a moment ago (the bench's servers bind it at once). */
export async function freePort() {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** frps alone (clients bring their own), with token `bench`; resolves once its control port answers. */
export async function startFrps(dir) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'p2prc-bench-frps-'));
  const port = await freePort();
  writeFileSync(
    path.join(tmp, 'frps.ini'),
    `[common]\nbind_addr = 127.0.0.1\nbind_port = ${port}\ntoken = bench\nlog_level = error\n`,
  );
  const server = spawn(path.join(dir, 'frps'), ['-c', path.join(tmp, 'frps.ini')], { stdio: 'ignore' });
  live.add(server);
  await waitPort(port);
  return {
    port,
    token: 'bench',
    server,
    cleanup: async () => (await stop(server), rmSync(tmp, { recursive: true, force: true })),
  };
}

/** frps + frpc publishing `targetPort`; resolves once the public port answers. */
export async function startFrp(dir, targetPort, { tls = false } = {}) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'p2prc-bench-frp-'));
  const [bindPort, remotePort] = [await freePort(), await freePort()];
  writeFileSync(
    path.join(tmp, 'frps.ini'),
    `[common]\nbind_addr = 127.0.0.1\nbind_port = ${bindPort}\ntoken = bench\nlog_level = error\n`,
  );
  writeFileSync(
    path.join(tmp, 'frpc.ini'),
    `[common]\nserver_addr = 127.0.0.1\nserver_port = ${bindPort}\ntoken = bench\ntls_enable = ${tls}\nlog_level = error\npool_count = 16\n\n[bench]\ntype = tcp\nlocal_ip = 127.0.0.1\nlocal_port = ${targetPort}\nremote_port = ${remotePort}\n`,
  );
  const frps = spawn(path.join(dir, 'frps'), ['-c', path.join(tmp, 'frps.ini')], { stdio: 'ignore' });
  live.add(frps);
  await waitPort(bindPort);
  const frpc = spawn(path.join(dir, 'frpc'), ['-c', path.join(tmp, 'frpc.ini')], { stdio: 'ignore' });
  live.add(frpc);
  await waitPort(remotePort);
  return {
    publicPort: remotePort,
    server: frps,
    client: frpc,
    cleanup: async () => (await stop(frpc), await stop(frps), rmSync(tmp, { recursive: true, force: true })),
  };
}

/** Asks a p2prc worker to collect garbage and waits for it; other processes just get a short pause. */
export async function collect(child) {
  if (!child?.connected) return new Promise((r) => setTimeout(r, 300));
  child.send('gc');
  await once(child, 'message');
}
