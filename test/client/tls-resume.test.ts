import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { dial } from '../../src/transport/net.js';
import { connect } from '../../src/index.js';
import { echoServer, host, listen, until } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

/** Whether a TLS ClientHello (the first record of a connection) offers a pre-shared key: a resumption. */
function offersPsk(hello: Buffer): boolean {
  let off = 5 + 4 + 2 + 32; // record header, handshake header, version, random
  off += 1 + hello[off]!; // session id
  off += 2 + hello.readUInt16BE(off); // cipher suites
  off += 1 + hello[off]!; // compression methods
  const end = off + 2 + hello.readUInt16BE(off);
  for (off += 2; off + 4 <= end; off += 4 + hello.readUInt16BE(off + 2)) {
    if (hello.readUInt16BE(off) === 41) return true; // pre_shared_key
  }
  return false;
}

/** A TCP relay in front of the host that notes, per connection, whether its ClientHello resumes a session. */
async function helloWatcher(upstream: number): Promise<{ port: number; resumed: boolean[] }> {
  const resumed: boolean[] = [];
  const sockets = new Set<net.Socket>();
  const port = await listen(
    net.createServer((down) => {
      const up = net.connect(upstream, '127.0.0.1');
      for (const s of [down, up]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => (down.destroy(), up.destroy()));
      }
      let first = true;
      down.on('data', (b: Buffer) => {
        if (first) resumed.push(offersPsk(b));
        first = false;
        up.write(b);
      });
      up.on('data', (b: Buffer) => down.write(b));
    }),
  );
  defer(() => sockets.forEach((s) => s.destroy()));
  return { port, resumed };
}

describe('TLS resumption', () => {
  it('dial keeps the session ticket the host sends, and a dial with it resumes', async () => {
    const h = await host({ tls: true });
    const first = await dial({
      host: '127.0.0.1',
      port: h.port,
      tls: true,
      fingerprint: h.fingerprint,
      timeoutMs: 5_000,
    });
    defer(() => first.socket.destroy());
    await until(() => first.ticket() !== undefined, 5_000, 'a session ticket');
    const second = await dial({
      host: '127.0.0.1',
      port: h.port,
      tls: true,
      fingerprint: h.fingerprint,
      session: first.ticket(),
      timeoutMs: 5_000,
    });
    defer(() => second.socket.destroy());
    expect(second.tlsSocket!.isSessionReused()).toBe(true);
    expect(second.fingerprint).toBe(h.fingerprint);
  });

  it("a client's multiplexed data connection resumes its control connection's TLS session", async () => {
    const h = await host({ tls: true });
    const watcher = await helloWatcher(h.port);
    const local = await echoServer();
    const c = connect({
      host: '127.0.0.1',
      port: watcher.port,
      token: h.token,
      tls: true,
      fingerprint: h.fingerprint,
      tunnels: [{ name: 't', localPort: local }],
    });
    defer(() => c.close());
    await c.ready;
    await until(() => watcher.resumed.length >= 2, 5_000, 'the data connection');
    // The control connection makes a full handshake; the data connection after it resumes.
    expect(watcher.resumed.slice(0, 2)).toEqual([false, true]);
  });
});
