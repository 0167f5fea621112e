// One hop of a plain Node relay: accept, connect onward, pipe both ways. Two of these in a chain are
// the practical ceiling for a relay written in Node (the same hop count as host -> client).
import net from 'node:net';
import { pipeline } from 'node:stream';

const target = Number(process.argv[2]);
const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (a) => {
  const b = net.connect({ port: target, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
  pipeline(a, b, a, () => (a.destroy(), b.destroy()));
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
