// A private service (owner) and a visitor for it, in one process per role: `owner` or `visitor`. Over a
// TLS host, relayed (direct paths off): the path `p2prc --visit --direct off` takes with the defaults.
import { connect, ServiceVisitor } from 'p2prc'; // the package's export, as its users load it

const [role, hostPort, token, fingerprint, targetPort] = process.argv.slice(2);
const secret = 'bench-secret';
if (role === 'owner') {
  const c = connect({
    host: '127.0.0.1',
    port: Number(hostPort),
    token,
    tls: true,
    fingerprint,
    poolSize: 16,
    tunnels: [],
    services: [{ id: 'bench', secret, localPort: Number(targetPort) }],
  });
  await c.ready;
  process.send({ ready: true });
} else {
  const v = new ServiceVisitor({
    host: '127.0.0.1',
    port: Number(hostPort),
    token,
    tls: true,
    fingerprint,
    direct: 'off',
    serviceId: 'bench',
    secret,
    localPort: 0,
  });
  process.send({ port: await v.start() });
}
process.on('message', () => undefined);
