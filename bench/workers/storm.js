// Many clients from one process, each publishing one tunnel with TLS: p2prc's library `connect` against
// a p2prc host, or p2prc's frp-wire client (frpc's wire protocol) against frps. At most `inFlight`
// logins are under way at a time, the same for both. Reports how long until every tunnel was published.
import { connect } from 'p2prc'; // the package's export, as its users load it
import { sourceModuleUrl } from '../../scripts/source-module.js';

const [kind, hostPort, token, fingerprint, targetPort, countText, inFlightText] = process.argv.slice(2);
const count = Number(countText);
const inFlight = Number(inFlightText ?? 50);
const { FrpWireClient } =
  kind === 'frp' ? await import(sourceModuleUrl('frp-wire/client/client.ts')) : { FrpWireClient: undefined };

/** One client, resolved once its tunnel is published; `stop` closes it. */
async function start(i) {
  if (kind === 'frp') {
    const c = new FrpWireClient({
      host: '127.0.0.1',
      port: Number(hostPort),
      token,
      tcpMux: true,
      tls: true,
      poolCount: 1,
      exitOnLoginFailure: true,
      tunnels: [{ name: `t${i}`, localHost: '127.0.0.1', localPort: Number(targetPort), remotePort: 0 }],
    });
    await c.start();
    return c;
  }
  const c = connect({
    host: '127.0.0.1',
    port: Number(hostPort),
    token,
    tls: true,
    fingerprint: fingerprint === '-' ? undefined : fingerprint,
    poolSize: 1,
    exitOnLoginFailure: true,
    tunnels: [{ name: `t${i}`, localPort: Number(targetPort), remotePort: 'any' }],
  });
  await c.ready;
  return c;
}

const started = performance.now();
const clients = [];
let next = 0;
let failed = 0;
let retried = 0;
let firstError;
await Promise.all(
  Array.from({ length: Math.min(inFlight, count) }, async () => {
    while (next < count) {
      const i = next++;
      // A client that is refused tries again, as frpc and p2prc's own reconnect loop do: frps picks
      // "any" ports at random and answers "no available port" when its pick is in use.
      for (let attempt = 1; ; attempt++) {
        try {
          clients.push(await start(i));
          break;
        } catch (err) {
          if (attempt < 3) {
            retried++;
            continue;
          }
          failed++;
          firstError ??= String(err?.message ?? err);
          break;
        }
      }
    }
  }),
);
process.send({ ms: performance.now() - started, published: clients.length, failed, retried, error: firstError });
process.on('message', (m) => {
  if (m === 'exit') process.exit(0); // a clean exit writes --cpu-prof profiles (BENCH_WORKER_ARGS)
  if (m !== 'gc') return;
  globalThis.gc?.();
  setTimeout(() => (globalThis.gc?.(), process.send({ gc: true })), 50);
});
