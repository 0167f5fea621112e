// The reference figures (iperf3 bulk, wrk keep-alive and Connection: close) for every path,
// in interleaved rounds: round 1 measures each path once, then round 2, and so on; each figure is the
// median of its rounds. On two shared cores a path measured once, minutes apart from the next, drifts
// with whatever else the machine did meanwhile; interleaving spreads that drift over every path alike.
// `warmup` seconds before each measurement (iperf3 -O, an unrecorded wrk run of the same kind) are the
// same for every path: a Node process compiles its hot paths in its first seconds, a Go one has nothing
// to compile.
import { iperf, iperfServer, wrk } from './native.js';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Records `{ scenario, path, value, unit, rounds }` per path and figure; a failed path records its error. */
export async function nativeRounds({ list, httpPort, rounds, seconds, warmup, capped, cap, log }) {
  const samples = new Map(); // path name -> figure -> values
  const failed = new Map();
  for (let round = 0; round < rounds; round++) {
    for (const p of list) {
      if (failed.has(p.name)) continue;
      log(`== ${p.name}: iperf3 and wrk, round ${round + 1} of ${rounds}`);
      const add = (figure, v) => {
        const byFigure = samples.get(p.name) ?? samples.set(p.name, new Map()).get(p.name);
        (byFigure.get(figure) ?? byFigure.set(figure, []).get(figure)).push(v);
      };
      // One more try in the same round: a measurement through frp can fail once (iperf3: "control
      // socket has closed unexpectedly"; cause not found), and that single miss would drop every ratio
      // against frp from the run. A path that fails twice in a round is dropped, as before.
      for (let attempt = 1; ; attempt++) {
        try {
          const figures = await capped(measure(p, { httpPort, seconds, warmup }), cap, p.name);
          for (const [figure, v] of figures) add(figure, v);
          break;
        } catch (err) {
          log(`   ${p.name} failed${attempt === 1 ? ', trying once more' : ''}: ${err.message}`);
          if (attempt === 2) {
            failed.set(p.name, err.message);
            break;
          }
        }
      }
    }
  }
  const units = { 'iperf3 bulk': 'Gbit/s', 'wrk keep-alive': 'req/s', 'wrk Connection: close': 'req/s' };
  const out = [];
  for (const p of list) {
    if (failed.has(p.name)) {
      out.push({ scenario: 'run', path: p.name, error: failed.get(p.name), p2prc: !!p.p2prc });
      continue;
    }
    for (const [figure, values] of samples.get(p.name) ?? []) {
      out.push({
        scenario: figure,
        path: p.name,
        value: median(values),
        unit: units[figure],
        p2prc: !!p.p2prc,
        frp: !!p.frp,
        rounds: values.length,
      });
    }
  }
  return out;
}

/** One path's three figures, measured on fresh routes; rejects without recording anything on a failure. */
async function measure(p, { httpPort, seconds, warmup }) {
  const figures = [];
  // A fresh iperf3 server per path: one still busy with an earlier path's test would refuse the next.
  const iperfd = await iperfServer();
  let route;
  try {
    // Opened inside: a path that fails to open (a relay worker that exits) must not leave iperf3 running.
    route = await p.open(iperfd.port);
    figures.push(['iperf3 bulk', await iperf(route.port, seconds, { omit: warmup })]);
  } finally {
    iperfd.close();
    await route?.close();
  }
  route = await p.open(httpPort);
  try {
    if (warmup) await wrk(route.port, { seconds: warmup }); // not recorded: JIT and connections settle
    figures.push(['wrk keep-alive', await wrk(route.port, { seconds })]);
    // Short connections run code keep-alive never reaches (accept, connect, stream open and close): a
    // Node hop measured cold ran its first two seconds of them at 0.65x its later rate, compiling.
    if (warmup) await wrk(route.port, { seconds: warmup, close: true });
    figures.push(['wrk Connection: close', await wrk(route.port, { seconds, close: true })]);
  } finally {
    await route.close();
  }
  return figures;
}
