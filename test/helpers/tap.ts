import net from 'node:net';
import { once } from 'node:events';
import { defer } from './engine.js';

/** A forwarding tap in front of a host: records every byte it relays and can flip one bit on demand. */
export async function tapProxy(
  targetPort: number,
): Promise<{ port: number; captured: () => Buffer; flipNext: () => void }> {
  const chunks: Buffer[] = [];
  let flip = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (a) => {
    const b = net.connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true });
    for (const s of [a, b]) {
      sockets.add(s);
      s.on('error', () => {
        a.destroy();
        b.destroy();
      });
      s.once('close', () => sockets.delete(s));
    }
    const forward = (from: net.Socket, to: net.Socket) => {
      from.on('data', (d: Buffer) => {
        chunks.push(Buffer.from(d));
        if (flip && d.length > 1024) {
          // a sealed data record, not a Hello or handshake bytes
          flip = false;
          d = Buffer.from(d);
          d[d.length - 20] = d[d.length - 20]! ^ 0x01;
        }
        to.write(d);
      });
      from.on('end', () => to.end());
    };
    forward(a, b);
    forward(b, a);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => (sockets.forEach((s) => s.destroy()), server.close()));
  return {
    port: (server.address() as net.AddressInfo).port,
    captured: () => Buffer.concat(chunks),
    flipNext: () => void (flip = true),
  };
}
