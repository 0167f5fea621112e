import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { holdListener } from '../../src/transport/held-listener.js';
import { client, echoServer, freePort, host } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

describe('held control listener', () => {
  it('a client that connected and wrote before the host existed is served once the host adopts the port', async () => {
    const port = await freePort();
    holdListener(port, '127.0.0.1');
    // The kernel accepts this and the client's first bytes (p2prc's preamble) wait in the held socket.
    const early = net.connect(port, '127.0.0.1');
    defer(() => early.destroy());
    await once(early, 'connect');
    const h = await host({ controlPort: port, tls: false });
    expect(h.port).toBe(port);
    const echo = await echoServer();
    const c = client(h, { tunnels: [{ name: 'e', localPort: echo }] });
    const [t] = await c.ready;
    expect(t!.remotePort).toBeGreaterThan(0);
    // The early socket was handed to the host's protocol sniffing: garbage from it is closed by the host.
    early.write('garbage that is no protocol');
    await once(early, 'close');
  });

  it('a port held for another address is not adopted: the host listens itself', async () => {
    const port = await freePort();
    holdListener(port, '::1');
    const h = await host({ controlPort: port, tls: false }); // 127.0.0.1: a socket of its own
    expect(h.port).toBe(port);
    // The held one still waits for its own address, and a host there takes it over.
    const h6 = await host({ controlPort: port, bind: '::1', tls: false });
    const early = net.connect(port, '::1');
    defer(() => early.destroy());
    early.write('garbage');
    await once(early, 'close');
    expect(h6.port).toBe(port);
  });
});
