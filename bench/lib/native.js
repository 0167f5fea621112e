// The reference load generators, native programs from Debian: iperf3 for bulk, wrk for HTTP. They run
// outside Node, so a slow path cannot hide behind a loader that shares its event loop's costs.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort } from './proc.js';

const run = promisify(execFile);

/** Which tools are missing, with the way to get them. */
export function missingTools() {
  const missing = ['iperf3', 'wrk'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  return missing.length
    ? `${missing.join(' and ')} not found: apt-get install ${missing.join(' ')} (Debian/Ubuntu)`
    : undefined;
}

/** An iperf3 server on loopback; `close` stops it. */
export async function iperfServer() {
  const port = await freePort();
  const child = spawn('iperf3', ['-s', '-p', String(port), '-B', '127.0.0.1', '--forceflush'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  // iperf3 prints "Server listening on <port>" once it accepts.
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => ((out += c), out.includes('listening') && resolve()));
    child.once('exit', (code) => reject(new Error(`iperf3 -s exited with ${code}`)));
  });
  return { port, close: () => child.kill('SIGKILL') };
}

/** iperf3, one stream for `seconds`, through `port`: received Gbit/s; `omit`: seconds of warm-up left out (iperf3 -O). */
export async function iperf(port, seconds, { omit = 0 } = {}) {
  const args = [
    '-c',
    '127.0.0.1',
    '-p',
    String(port),
    '-t',
    String(seconds),
    '-J',
    ...(omit ? ['-O', String(omit)] : []),
  ];
  const { stdout } = await run('iperf3', args, { maxBuffer: 16 << 20, timeout: (seconds + omit + 30) * 1000 });
  const j = JSON.parse(stdout);
  if (j.error) throw new Error(`iperf3: ${j.error}`);
  return j.end.sum_received.bits_per_second / 1e9;
}

/** wrk, 2 threads and 50 connections for `seconds`: requests per second. */
export async function wrk(port, { seconds, close = false }) {
  const args = [
    '-t2',
    '-c50',
    `-d${seconds}s`,
    ...(close ? ['-H', 'Connection: close'] : []),
    `http://127.0.0.1:${port}/`,
  ];
  const { stdout } = await run('wrk', args, { timeout: (seconds + 30) * 1000 });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  if (!m) throw new Error(`wrk printed no rate: ${stdout.slice(0, 200)}`);
  return Number(m[1]);
}
