import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { dataProof } from '../../src/protocol/auth.js';
import { verifyDataHello } from '../../src/host/handshake.js';
import { client, echoServer, host, listen, until } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

const openFds = () => readdirSync('/proc/self/fd').length;

/** Opens `n` visitors at once and keeps them; each proves itself with a one-byte echo. */
async function holdVisitors(port: number, n: number): Promise<net.Socket[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const s = net.connect(port, '127.0.0.1');
      defer(() => s.destroy());
      s.on('error', () => undefined);
      await once(s, 'connect');
      s.write('p');
      await once(s, 'data');
      return s;
    }),
  );
}

describe('multiplexed data connections', () => {
  it('carry each visitor as a stream: one descriptor per visitor on the host, every visitor answered (TLS)', async () => {
    const h = await host({ tls: true });
    const echo = await echoServer();
    const [t] = await client(h, { tunnels: [{ name: 'echo', localPort: echo }] }).ready;
    await holdVisitors(t!.remotePort, 20); // warm up: the multiplexed connections are open
    const before = openFds();
    const n = 1000;
    const sockets = await holdVisitors(t!.remotePort, n);
    expect(sockets).toHaveLength(n);
    // Host and client share this process: per visitor, the visitor's socket, the host's end of it, the
    // client's local connection and the echo server's end = 4. A data connection per visitor adds 2 more.
    const perVisitor = (openFds() - before) / n;
    expect(perVisitor).toBeGreaterThanOrEqual(4);
    expect(perVisitor).toBeLessThan(4.5);
  }, 120_000);

  it('carry a visitor half-close: the service sees the end, its answer still comes back', async () => {
    const h = await host({ tls: true });
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      const hash = createHash('sha256');
      s.on('data', (c: Buffer) => hash.update(c));
      s.on('end', () => s.end(hash.digest('hex')));
    });
    const port = await listen(server);
    const [t] = await client(h, { tunnels: [{ name: 'hash', localPort: port }] }).ready;
    const payload = Buffer.alloc(3 * 1024 * 1024 + 7, 'q');
    const s = net.connect({ port: t!.remotePort, host: '127.0.0.1', allowHalfOpen: true });
    defer(() => s.destroy());
    s.end(payload);
    let reply = '';
    s.on('data', (c: Buffer) => (reply += c.toString()));
    await once(s, 'end');
    expect(reply).toBe(createHash('sha256').update(payload).digest('hex'));
  }, 60_000);

  it('hold a writer back while the service does not read, then deliver every byte', async () => {
    const h = await host({ tls: false });
    let received = 0;
    let local: net.Socket | undefined;
    const server = net.createServer((s) => {
      local = s;
      s.pause(); // reads nothing until the writer is seen to be held back
      s.on('data', (c: Buffer) => (received += c.length));
    });
    const port = await listen(server);
    defer(() => local?.destroy());
    const [t] = await client(h, { tunnels: [{ name: 'slow', localPort: port }] }).ready;
    const chunk = Buffer.alloc(16 * 1024 * 1024, 'b');
    const total = 16 * chunk.length;
    const s = net.connect(t!.remotePort, '127.0.0.1');
    defer(() => s.destroy());
    await once(s, 'connect');
    for (let i = 0; i < 16; i++) s.write(chunk);
    // Kernel buffers and one stream window hold far less than 256 MB: the rest must wait in the writer.
    await until(
      () => local !== undefined && s.writableLength >= 8 * chunk.length && received === 0,
      30_000,
      'the writer to be held back',
    );
    local!.resume();
    await until(() => received === total, 60_000, 'every byte');
    expect(received).toBe(total);
  }, 120_000);
});

describe('multiplexed data connection proof', () => {
  it('covers the role: a raw connection proof does not open a multiplexed one, nor the reverse', () => {
    const key = Buffer.alloc(32, 3);
    const raw = dataProof(key, 'sid', 5);
    const mux = dataProof(key, 'sid', 5, true);
    expect(raw).not.toBe(mux);
    expect(verifyDataHello(key, { sessionId: 'sid', seq: 5, mac: raw })).toBe(true);
    expect(verifyDataHello(key, { sessionId: 'sid', seq: 5, mac: raw, mux: true })).toBe(false);
    expect(verifyDataHello(key, { sessionId: 'sid', seq: 5, mac: mux, mux: true })).toBe(true);
    expect(verifyDataHello(key, { sessionId: 'sid', seq: 5, mac: mux })).toBe(false);
  });
});
