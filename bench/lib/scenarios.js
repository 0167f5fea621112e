import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { bulk, openMany, ttfb } from './load.js';
import { missingTools } from './native.js';
import { nativeRounds } from './native-rounds.js';
import { startupRatios } from './startup.js';
import { paths } from './paths.js';
import { cliClientMemory } from './cli-memory.js';
import { collect, freePort, frpDir, rssKB, startFrps, stop, waitPort, worker } from './proc.js';

/** Caps every scenario so a hung path cannot stall the run. */
function capped(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`${what} exceeded ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

async function rate(port, { close, seconds }) {
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections: 50,
    duration: seconds,
    headers: close ? { connection: 'close' } : {},
  });
  return r.requests.average;
}

const settle = (route) => Promise.all([collect(route.procs?.host), collect(route.procs?.client)]);

export async function scenarios({ quick, log }) {
  const results = [];
  const { list, frpSkip } = paths();
  if (frpSkip) results.push({ scenario: 'frp', path: 'frp', error: `skipped: ${frpSkip}` });
  const missing = missingTools();
  if (missing) results.push({ scenario: 'iperf3/wrk', path: 'all', error: `skipped: ${missing}` });

  const sink = await worker('target', ['sink']);
  const echo = await worker('target', ['echo']);
  const http = await worker('target', ['http']);
  const size = quick ? 32e6 : 512e6;
  const seconds = quick ? 2 : 8;
  const cap = quick ? 60_000 : 300_000;
  const record = (scenario, p, value, unit, extra = {}) =>
    results.push({ scenario, path: p.name, value, unit, p2prc: !!p.p2prc, frp: !!p.frp, ...extra });
  if (!missing) {
    // The reference figures: native load generators, the same for every path (median of interleaved rounds).
    const rounds = quick ? 1 : 3;
    results.push(
      ...(await nativeRounds({
        list,
        httpPort: http.port,
        rounds,
        seconds: quick ? 1 : 5,
        warmup: quick ? 0 : 2,
        capped,
        cap,
        log,
      })),
    );
  }
  // The TLS relay is a yardstick for the native figures only (what Node's own TLS allows).
  for (const p of list.filter((x) => !x.tlsCeiling)) {
    log(`== ${p.name}`);
    try {
      await capped(
        (async () => {
          let route;
          // The Node loaders (kept for continuity; in a quick run only when the native tools are missing).
          if (!quick || missing) {
            route = await p.open(sink.port);
            record('bulk 1 conn', p, await bulk(route.port, size, 1), 'MB/s');
            record('bulk 8 conns', p, await bulk(route.port, size, 8), 'MB/s');
            await route.close();
            route = await p.open(http.port);
            record('http keep-alive', p, await rate(route.port, { close: false, seconds }), 'req/s');
            record('http new conn', p, await rate(route.port, { close: true, seconds }), 'req/s');
            await route.close();
          }
          route = await p.open(echo.port);
          const t = await ttfb(route.port, quick ? 50 : 500);
          record('ttfb p50', p, t.p50, 'ms');
          record('ttfb p99', p, t.p99, 'ms');
          if (p.name !== 'direct' && !p.name.startsWith('node relay') && p.footprint !== false) {
            await settle(route);
            const before = { host: rssKB(route.pids.host), client: rssKB(route.pids.client) };
            record('idle RSS host', p, before.host / 1024, 'MB');
            record('idle RSS client', p, before.client / 1024, 'MB');
            const n = quick ? 200 : 2000; // the target's 2,000 idle proxied connections
            const idle = await openMany(route.port, n);
            await settle(route);
            record('KB per idle conn (host)', p, (rssKB(route.pids.host) - before.host) / n, 'KB', {
              served: idle.served,
            });
            record('KB per idle conn (client)', p, (rssKB(route.pids.client) - before.client) / n, 'KB');
            idle.close();
          }
          await route.close();
        })(),
        cap,
        p.name,
      );
    } catch (err) {
      log(`   ${p.name} failed: ${err.message}`);
      results.push({ scenario: 'run', path: p.name, error: err.message, p2prc: !!p.p2prc });
    }
  }
  await scale(results, echo.port, quick, log, cap);
  await perClient(results, echo.port, quick, log, cap);
  await manyClients(results, echo.port, quick, log, cap);
  await startup(results, http.port, quick, log);
  await cliStartup(results, http.port, quick, log);
  await cliMemory(results, quick, log);
  await Promise.all([stop(sink.child), stop(echo.child), stop(http.child)]);
  return results;
}

async function scale(results, echoPort, quick, log, cap) {
  const n = quick ? 1000 : 18_000;
  log(`== scale: ${n} concurrent connections through one p2prc host, TLS on`);
  const p = paths({ withFrp: false }).list.find((x) => x.name === 'p2prc tls');
  const route = await p.open(echoPort);
  try {
    const many = await capped(openMany(route.port, n), cap, 'scale');
    results.push({
      scenario: `${n} concurrent conns`,
      path: p.name,
      value: many.served,
      unit: 'served',
      failed: many.failed,
      p2prc: true,
    });
    many.close();
  } catch (err) {
    results.push({ scenario: 'scale', path: p.name, error: err.message, p2prc: true });
  } finally {
    await route.close();
  }
}

async function perClient(results, echoPort, quick, log, cap) {
  const n = quick ? 20 : 100;
  log(`== footprint: 4 batches of ${n} registered clients on one host`);
  const h = await worker('host', ['plain']);
  const batches = [];
  try {
    // RSS growth after a collection, with V8's defaults. The first batch pays for the code and heap a
    // host's first clients bring in. V8 then grows its young generation in steps (about 1 to 8 MB of
    // pages here) as allocation goes on, and a step in the batch read as 40-50 KB a client of a batch of
    // 100: the figure is the growth over batches 3 and 4, once two batches have warmed the host.
    await collect(h.child);
    const start = rssKB(h.pid);
    let warm;
    for (let b = 1; b <= 4; b++) {
      batches.push(await capped(worker('client', [h.port, h.token, '-', 'plain', echoPort, n]), cap, 'clients'));
      await collect(h.child);
      if (b === 1)
        results.push({
          scenario: 'KB per idle client (host), first batch',
          path: 'p2prc plain',
          value: (rssKB(h.pid) - start) / n,
          unit: 'KB',
          p2prc: true,
        });
      if (b === 2) warm = rssKB(h.pid);
    }
    results.push({
      scenario: 'KB per idle client (host)',
      path: 'p2prc plain',
      value: (rssKB(h.pid) - warm) / (2 * n),
      unit: 'KB',
      p2prc: true,
    });
  } finally {
    for (const b of batches) await stop(b.child);
    await stop(h.child);
  }
}

/**
 * A connect storm: `n` TLS clients, one tunnel each, driven from one process (50 logins in flight), against
 * a p2prc host and against frps (`tls_enable` clients: frp-wire's, frpc's protocol). The host's RSS growth
 * per client once all are published, and the time until the last one was.
 */
export async function manyClients(results, echoPort, quick, log, cap) {
  const n = quick ? 100 : 1000;
  const frp = frpDir();
  const sides = [
    {
      path: 'p2prc tls',
      p2prc: true,
      start: async () => {
        const h = await worker('host', ['tls']);
        return { ...h, args: ['p2prc', h.port, h.token, h.fingerprint ?? '-'], close: () => stop(h.child) };
      },
    },
    ...(frp
      ? [
          {
            path: 'frp 0.31.2 tls',
            frp: true,
            start: async () => {
              const f = await startFrps(frp);
              return { child: f.server, pid: f.server.pid, args: ['frp', f.port, f.token, '-'], close: f.cleanup };
            },
          },
        ]
      : []),
  ];
  for (const side of sides) {
    log(`== ${n} TLS clients, one tunnel each, on one host: ${side.path}`);
    let h;
    let storm;
    try {
      h = await side.start();
      await collect(h.child);
      const before = rssKB(h.pid);
      storm = await capped(worker('storm', [...h.args, echoPort, n, 50]), cap, 'connect storm');
      if (storm.failed > 0) throw new Error(`${storm.failed} of ${n} clients failed: ${storm.error}`);
      await collect(h.child);
      const row = (scenario, value, unit) =>
        results.push({ scenario, path: side.path, value, unit, p2prc: !!side.p2prc, frp: !!side.frp });
      results.push({
        scenario: `${n} TLS clients: time to publish all`,
        path: side.path,
        value: storm.ms,
        unit: 'ms',
        retried: storm.retried,
        p2prc: !!side.p2prc,
        frp: !!side.frp,
      });
      row(`${n} TLS clients: KB per client (host)`, (rssKB(h.pid) - before) / n, 'KB');
    } catch (err) {
      results.push({ scenario: 'connect storm', path: side.path, error: err.message, p2prc: !!side.p2prc });
    } finally {
      await stop(storm?.child);
      await h?.close();
    }
  }
}

async function startup(results, httpPort, quick, log) {
  log('== time from client start to the public port answering');
  const h = await worker('host', ['plain']);
  const times = [];
  try {
    for (let i = 0; i < (quick ? 2 : 5); i++) {
      // A port the kernel just handed out and took back: a random one in 31000-33000 fell in Linux's
      // ephemeral range and was sometimes in use, which made the client fail and the run time out.
      const port = await freePort();
      const started = performance.now();
      const child = spawn(
        process.execPath,
        [
          path.join(import.meta.dirname, '..', 'workers', 'client.js'),
          h.port,
          h.token,
          '-',
          'plain',
          httpPort,
          1,
          port,
        ],
        { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] },
      );
      await waitPort(port, 10_000);
      times.push(performance.now() - started);
      await stop(child);
    }
    times.sort((a, b) => a - b);
    results.push({
      scenario: 'client start to public port',
      path: 'p2prc plain',
      value: times[Math.floor(times.length / 2)],
      unit: 'ms',
      p2prc: true,
    });
  } catch (err) {
    results.push({ scenario: 'startup', path: 'p2prc plain', error: err.message, p2prc: true });
  } finally {
    await stop(h.child);
  }
}

async function cliMemory(results, quick, log) {
  log("== the CLI client's RSS: at Published:, after visitors, idle");
  try {
    const m = await cliClientMemory({ quick });
    const add = (scenario, v) =>
      v !== undefined && results.push({ scenario, path: 'p2prc cli (tls)', value: v, unit: 'MB', p2prc: true });
    add('client RSS at Published:', m.published);
    add(`client RSS after ${m.visitors} visitors`, m.afterVisitors);
    add('client RSS idle 20 s after visitors', m.idle);
  } catch (err) {
    results.push({ scenario: 'cli memory', path: 'p2prc cli (tls)', error: err.message, p2prc: true });
  }
}

async function cliStartup(results, httpPort, quick, log) {
  log('== CLI startup, as ratios to `node -e 0`');
  try {
    const t = await startupRatios({ quick, targetPort: httpPort });
    const add = (scenario, v) => results.push({ scenario, path: 'p2prc cli', value: v, unit: 'ms', p2prc: true });
    add('node -e 0', t.node);
    add('p2prc --help', t.help);
    add('p2prc --view-rpm --json', t.rpm);
    add('restarted host accepting', t.host);
    add('client second Published: line', t.client);
  } catch (err) {
    results.push({ scenario: 'cli startup', path: 'p2prc cli', error: err.message, p2prc: true });
  }
}
