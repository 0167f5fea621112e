import { describe, expect, it } from 'vitest';
import net from 'node:net';
import tls from 'node:tls';
import { connect } from '../../src/index.js';
import { generateSelfSignedCert } from '../../src/transport/cert.js';
import { P2prcError } from '../../src/errors.js';
import { echoServer, host, listen } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

/**
 * A man-in-the-middle without the token: terminates the client's TLS with its own certificate and
 * opens its own TLS to the host, relaying the bytes (frames and proofs) unchanged between the two.
 */
async function tlsRelay(upstreamPort: number): Promise<{ port: number; fingerprint: string; relayed: () => number }> {
  const cert = generateSelfSignedCert('mitm');
  const sockets = new Set<net.Socket>();
  let relayed = 0;
  const server = tls.createServer({ key: cert.keyPem, cert: cert.certPem }, (down) => {
    const up = tls.connect({ host: '127.0.0.1', port: upstreamPort, rejectUnauthorized: false });
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => (sockets.delete(s), down.destroy(), up.destroy()));
    }
    down.on('data', (b: Buffer) => ((relayed += b.length), up.write(b)));
    up.on('data', (b: Buffer) => ((relayed += b.length), down.write(b)));
  });
  defer(() => sockets.forEach((s) => s.destroy()));
  const port = await listen(server as unknown as net.Server);
  return { port, fingerprint: cert.fingerprint, relayed: () => relayed };
}

// A token-less relay must not carry a first (trust-on-first-use) connection and get its own certificate pinned.
describe('channel binding of the native auth', () => {
  it('a relaying TLS man-in-the-middle is named as such and gets no proof; the direct connection works', async () => {
    const h = await host({ tls: true, token: 'bound-token' });
    const local = await echoServer();
    const mitm = await tlsRelay(h.port);
    const viaRelay = connect({
      host: '127.0.0.1',
      port: mitm.port,
      token: 'bound-token',
      tls: true,
      tunnels: [{ name: 't', localPort: local }],
      exitOnLoginFailure: true,
      maxRetries: 0,
    });
    defer(() => viaRelay.close());
    const err = await viaRelay.start().ready.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(P2prcError);
    // Told as what it is, before any proof left the client: not a wrong token.
    expect((err as P2prcError).code).toBe('E_TLS');
    expect((err as P2prcError).message).toMatch(/TLS-terminating relay .* intercepting .* no proof was sent/);
    // The relay really carried the handshake (this is not a connection failure) and nothing was pinned.
    expect(mitm.relayed()).toBeGreaterThan(0);
    expect(viaRelay.fingerprint).toBeUndefined();

    const direct = connect({
      host: '127.0.0.1',
      port: h.port,
      token: 'bound-token',
      tls: true,
      tunnels: [{ name: 't', localPort: local }],
      exitOnLoginFailure: true,
      maxRetries: 0,
    });
    defer(() => direct.close());
    await direct.start().ready;
    expect(direct.fingerprint).toBe(h.fingerprint);
  }, 20_000);
});
