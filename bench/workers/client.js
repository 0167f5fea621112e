// p2prc client(s) for the bench: `count` clients each publishing the target; reports the first public port.
import { connect } from 'p2prc'; // the package's export, as its users load it

const [hostPort, token, fingerprint, tls, targetPort, countText, remotePort] = process.argv.slice(2);
const count = Number(countText ?? 1);
const clients = [];
for (let i = 0; i < count; i++) {
  clients.push(
    connect({
      host: '127.0.0.1',
      port: Number(hostPort),
      token,
      tls: tls === 'tls',
      fingerprint: fingerprint === '-' ? undefined : fingerprint,
      poolSize: count > 1 ? 1 : 16,
      tunnels: [
        {
          name: `t${i}`,
          localPort: Number(targetPort),
          remotePort: i === 0 && remotePort ? Number(remotePort) : 'any',
        },
      ],
    }),
  );
}
const ready = await Promise.all(clients.map((c) => c.ready));
process.send({ publicPort: ready[0][0].remotePort });
// Footprint readings: collect garbage first so RSS reflects live connections, not pending garbage.
process.on('message', (m) => {
  if (m === 'exit') process.exit(0); // a clean exit writes --cpu-prof profiles (BENCH_WORKER_ARGS)
  if (m !== 'gc') return;
  globalThis.gc?.();
  setTimeout(() => (globalThis.gc?.(), process.send({ gc: true })), 50);
});
