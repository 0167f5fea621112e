// A private service (owner) and a visitor for it, in one process per role: `owner` or `visitor`.
import { connect, ServiceVisitor } from 'p2prc'; // the package's export, as its users load it

const [role, hostPort, token, targetPort] = process.argv.slice(2);
const secret = 'bench-secret';
if (role === 'owner') {
  const c = connect({
    host: '127.0.0.1',
    port: Number(hostPort),
    token,
    tls: false,
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
    tls: false,
    serviceId: 'bench',
    secret,
    localPort: 0,
  });
  process.send({ port: await v.start() });
}
process.on('message', () => undefined);
