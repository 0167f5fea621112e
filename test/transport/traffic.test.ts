import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { TrafficCounter } from '../../src/transport/traffic.js';
import { echoServer, until } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

describe('TrafficCounter', () => {
  it("counts connections once and bytes from the sockets' own counters, live and after close", async () => {
    const echo = await echoServer();
    const counter = new TrafficCounter();
    // The counted side faces the "visitor": here the server end of a plain proxy to the echo server.
    // Half-open, so a visitor's FIN travels on and the echo still comes back, as in the real relay.
    const proxy = net.createServer({ allowHalfOpen: true }, (visitor) => {
      counter.track(visitor);
      const up = net.connect({ port: echo, host: '127.0.0.1', allowHalfOpen: true });
      visitor.pipe(up).pipe(visitor);
      visitor.on('error', () => up.destroy());
      up.on('error', () => visitor.destroy());
      visitor.once('close', () => up.destroy());
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    defer(() => new Promise((r) => proxy.close(r)));
    const port = (proxy.address() as net.AddressInfo).port;

    const a = net.connect(port, '127.0.0.1');
    defer(() => a.destroy());
    await once(a, 'connect');
    a.write(Buffer.alloc(1000, 1));
    let echoed = 0;
    a.on('data', (d: Buffer) => (echoed += d.length));
    await until(() => echoed === 1000, 10_000, 'echo of 1000 bytes');
    // Live: the connection is still open and its bytes are already visible.
    expect(counter.total).toBe(1);
    expect(counter.now).toBe(1);
    expect(counter.bytesIn).toBe(1000);
    expect(counter.bytesOut).toBe(1000);

    a.destroy();
    await until(() => counter.now === 0, 10_000, 'close seen');
    const b = net.connect(port, '127.0.0.1');
    defer(() => b.destroy());
    await once(b, 'connect');
    b.resume(); // read the echo, so the end (and the close) are seen
    b.end(Buffer.alloc(10, 2));
    await once(b, 'close');
    await until(() => counter.now === 0 && counter.total === 2, 10_000, 'second close');
    // Closed connections keep their bytes; nothing is counted twice.
    expect(counter.bytesIn).toBe(1010);
    expect(counter.bytesOut).toBe(1010);
  });
});
