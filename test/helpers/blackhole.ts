import net from 'node:net';
import { once } from 'node:events';
import { defer } from './engine.js';

/**
 * A TCP forwarder between client and host that can black-hole traffic, like a NAT that silently
 * drops packets: frozen connections stay open but nothing moves, so only heartbeats can tell.
 */
export async function blackholeProxy(targetPort: number): Promise<{ port: number; freeze(): void; thaw(): void }> {
  let frozen = false;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer({ allowHalfOpen: true }, (a) => {
    const b = net.connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true });
    const pair: [net.Socket, net.Socket] = [a, b];
    pairs.add(pair);
    a.on('error', () => b.destroy());
    b.on('error', () => a.destroy());
    a.on('close', () => (b.destroy(), pairs.delete(pair)));
    b.on('close', () => (a.destroy(), pairs.delete(pair)));
    a.on('data', (d) => !frozen && b.write(d));
    b.on('data', (d) => !frozen && a.write(d));
    a.on('end', () => !frozen && b.end());
    b.on('end', () => !frozen && a.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    server.close();
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => void (frozen = true),
    thaw: () => {
      // Connections that lived through the outage are dead by now on both ends' clocks.
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      frozen = false;
    },
  };
}
