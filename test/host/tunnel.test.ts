import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';
import { client, echoServer, host, httpServer, roundTrip, sha256 } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

describe.each([false, true])('tunnel data path (tls=%s)', (tls) => {
  it('carries HTTP and raw TCP, and 64 MiB byte-identical', async () => {
    const h = await host({ tls });
    const web = await httpServer();
    const echo = await echoServer();
    const c = client(h, {
      tunnels: [
        { name: 'web', localPort: web },
        { name: 'echo', localPort: echo },
      ],
    });
    const [webT, echoT] = await c.ready;
    expect(await (await fetch(`http://${webT!.publicAddress}/a`)).text()).toBe('hello /a');
    const payload = randomBytes(64 * 1024 * 1024);
    const back = await roundTrip(echoT!.remotePort, payload);
    expect(back.length).toBe(payload.length);
    expect(back.sha).toBe(sha256(payload));
  }, 120_000);

  it('serves 200 concurrent visitors', async () => {
    const h = await host({ tls });
    const echo = await echoServer();
    const [t] = await client(h, { tunnels: [{ name: 'echo', localPort: echo }] }).ready;
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const msg = Buffer.from(`visitor ${i} `.repeat(100));
        return (await roundTrip(t!.remotePort, msg)).sha === sha256(msg);
      }),
    );
    expect(results.filter(Boolean)).toHaveLength(200);
  }, 60_000);
});

describe('visitor handling', () => {
  it('closes the visitor promptly when the local service refuses', async () => {
    const h = await host({ tls: false });
    const dead = net.createServer().listen(0, '127.0.0.1');
    await once(dead, 'listening');
    const port = (dead.address() as net.AddressInfo).port;
    dead.close();
    const [t] = await client(h, { tunnels: [{ name: 'dead', localPort: port }] }).ready;
    const visitor = net.connect(t!.remotePort, '127.0.0.1');
    defer(() => visitor.destroy());
    visitor.on('error', () => undefined);
    const started = Date.now();
    await once(visitor, 'close');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('lets data written before the local side answers through (no lost head bytes)', async () => {
    const h = await host({ tls: true });
    const echo = await echoServer();
    const [t] = await client(h, { tunnels: [{ name: 'echo', localPort: echo }], poolSize: 1 }).ready;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => roundTrip(t!.remotePort, Buffer.from(`first-bytes-${i}`))),
    );
    results.forEach((r, i) => expect(r.sha).toBe(sha256(Buffer.from(`first-bytes-${i}`))));
  });
});
