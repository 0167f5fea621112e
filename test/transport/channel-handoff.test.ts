import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { encodePreamble } from '../../src/protocol/frame.js';
import { encodeMessage, type Message } from '../../src/protocol/messages.js';
import { FrameChannel } from '../../src/transport/channel.js';
import { generateSelfSignedCert } from '../../src/transport/cert.js';
import { dial, wrapServerTls } from '../../src/transport/net.js';
import { relay } from '../../src/transport/relay.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
  );
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

describe('socket handoff from the frame channel', () => {
  it('a TLS data connection detached from its FrameChannel and relayed still emits close and frees its TLS state', async () => {
    const echo = net.createServer((s) => s.pipe(s));
    const echoPort = await listen(echo);
    const { keyPem, certPem } = generateSelfSignedCert();
    const context = tls.createSecureContext({ key: keyPem, cert: certPem });
    let upstream: net.Socket | undefined;
    let closeSeenByEarlierOwner = false;
    let listenersBefore: unknown[] = [];
    let listenersAfterDetach: unknown[] = [];
    const handedOff = new Promise<tls.TLSSocket>((resolve, reject) => {
      const host = net.createServer((raw) => {
        const socket = wrapServerTls(raw, context);
        // What was on the socket before the channel took it: Node's own TLS handler and, like the host's
        // front door, a listener of an earlier owner. A handoff must leave both in place.
        socket.once('close', () => (closeSeenByEarlierOwner = true));
        listenersBefore = [...socket.listeners('close'), ...socket.listeners('error')];
        const channel = new FrameChannel(socket, {
          expectPreamble: true,
          rawAfter: (m: Message) => m.type === 'Hello',
        });
        channel.next(5_000).then((hello) => {
          expect(hello.type).toBe('Hello');
          const rest = channel.detach();
          listenersAfterDetach = [...socket.listeners('close'), ...socket.listeners('error')];
          upstream = net.connect(echoPort, '127.0.0.1');
          if (rest.length) upstream.write(rest);
          relay(socket, upstream);
          resolve(socket);
        }, reject);
      });
      void listen(host).then(async (port) => {
        const { socket: client } = await dial({ host: '127.0.0.1', port, tls: true, timeoutMs: 5_000 });
        defer(() => client.destroy());
        const hello = encodeMessage('Hello', { role: 'data', sessionId: 's1', seq: 1, mac: '0'.repeat(64) });
        client.write(Buffer.concat([encodePreamble(), hello, Buffer.from('ping')]));
        const [reply] = (await within(once(client, 'data'), 5_000, 'echo through the relay')) as [Buffer];
        expect(reply.toString()).toBe('ping');
        client.destroy();
      }, reject);
    });
    const socket = await within(handedOff, 10_000, 'handoff');
    expect(socket.encrypted).toBe(true);
    expect(listenersBefore.length).toBeGreaterThanOrEqual(2);
    for (const l of listenersBefore) expect(listenersAfterDetach).toContain(l);
    await within(once(socket, 'close'), 5_000, "the relayed TLS socket's close");
    expect(closeSeenByEarlierOwner).toBe(true);
    expect(socket.destroyed).toBe(true);
    // The relay took the other side down with it, and the TLS state is freed.
    if (!upstream!.destroyed) await within(once(upstream!, 'close'), 5_000, "the upstream's close");
    expect((socket as unknown as { ssl: unknown }).ssl).toBeNull();
  });
});

describe('a detached channel', () => {
  it('is not kept alive by the socket it gave back, which still survives a reset', async () => {
    // A listener that closed over the channel kept it (decoder, queue, listeners) for the socket's life:
    // one more FrameChannel per pooled data connection on the host and on the client.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const server = net.createServer((s) => defer(() => s.destroy()));
    const port = await listen(server);
    const socket = net.connect(port, '127.0.0.1');
    defer(() => socket.destroy());
    await once(socket, 'connect');
    let weak: WeakRef<FrameChannel> | undefined;
    (() => {
      const channel = new FrameChannel(socket);
      channel.detach();
      weak = new WeakRef(channel);
    })();
    // A WeakRef holds its target until the current job ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(weak?.deref()).toBeUndefined();
    socket.emit('error', new Error('reset by peer'));
    expect(socket.destroyed).toBe(true);
  });
});
