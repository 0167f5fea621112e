// p2prc host for the bench: reports its port, token and fingerprint over IPC.
import { startHost } from 'p2prc'; // the package's export, as its users load it

const tls = process.argv[2] === 'tls';
const h = await startHost({
  controlPort: 0,
  bind: '127.0.0.1',
  tls,
  maxClients: 100_000,
  maxTunnelsPerClient: 64,
  // Every bench client dials from 127.0.0.1, which makes them one principal (the per-client footprint has 400).
  maxTunnelsPerPrincipal: 100_000,
});
process.send({ port: h.port, token: h.token, fingerprint: h.fingerprint ?? null });
// Footprint readings: collect garbage first so RSS reflects live connections, not pending garbage.
process.on('message', (m) => {
  if (m === 'exit') process.exit(0); // a clean exit writes --cpu-prof profiles (BENCH_WORKER_ARGS)
  if (m !== 'gc') return;
  globalThis.gc?.();
  setTimeout(() => (globalThis.gc?.(), process.send({ gc: true })), 50);
});
