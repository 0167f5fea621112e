import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { dial, listenTcp, mapSocketError, tlsCiphers } from '../../src/transport/net.js';
import { isP2prcError } from '../../src/errors.js';
import { generateSelfSignedCert } from '../../src/transport/cert.js';
import tls from 'node:tls';
import { freePort, host, listen } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

/** Accepts TCP and never says anything (reads, so it notices the dialer's FIN). */
async function silentListener(): Promise<{ port: number; held: net.Socket[] }> {
  const held: net.Socket[] = [];
  const port = await listen(net.createServer((s) => (held.push(s), s.resume())));
  defer(() => held.forEach((s) => s.destroy())); // before the listener's close, which waits for them
  return { port, held };
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: { code: string }) => e.code,
  );

describe('dial', () => {
  it('a closed loopback port is E_UNREACHABLE, for TCP and TLS', async () => {
    const port = await freePort();
    expect(await codeOf(dial({ host: '127.0.0.1', port, tls: false, timeoutMs: 5_000 }))).toBe('E_UNREACHABLE');
    expect(await codeOf(dial({ host: '127.0.0.1', port, tls: true, timeoutMs: 5_000 }))).toBe('E_UNREACHABLE');
  });

  it('a listener that never answers TLS is E_TIMEOUT after the bound, and the socket is destroyed', async () => {
    const { port, held } = await silentListener();
    expect(await codeOf(dial({ host: '127.0.0.1', port, tls: true, timeoutMs: 200 }))).toBe('E_TIMEOUT');
    // The dialer gave up and destroyed its socket: the server side sees it close.
    await new Promise<void>((resolve) => (held[0]!.destroyed ? resolve() : held[0]!.once('close', () => resolve())));
  });

  // An AbortError's `code` is a number (DOMException): mapSocketError once called .startsWith on it.
  it('an aborted signal stops the dial with a coded error (E_CLOSED), not a TypeError', async () => {
    const { port } = await silentListener();
    const ac = new AbortController();
    const pending = dial({ host: '127.0.0.1', port, tls: true, timeoutMs: 10_000, signal: ac.signal }).then(
      () => undefined,
      (e: unknown) => e,
    );
    ac.abort();
    const e = await pending;
    expect(isP2prcError(e)).toBe(true);
    expect((e as { code: string }).code).toBe('E_CLOSED');
  });

  it('TLS: returns the certificate fingerprint, and refuses a pinned one that differs with E_TLS', async () => {
    const { keyPem, certPem, fingerprint } = generateSelfSignedCert('127.0.0.1');
    const server = tls.createServer({ key: keyPem, cert: certPem }, (s) => s.end());
    const port = await listen(server as unknown as net.Server);
    const ok = await dial({ host: '127.0.0.1', port, tls: true, fingerprint, timeoutMs: 5_000 });
    ok.socket.destroy();
    expect(ok.fingerprint).toBe(fingerprint);
    const other = generateSelfSignedCert('127.0.0.1').fingerprint;
    expect(await codeOf(dial({ host: '127.0.0.1', port, tls: true, fingerprint: other, timeoutMs: 5_000 }))).toBe(
      'E_TLS',
    );
  });
});

describe('TLS suite', () => {
  const AES128 = 'TLS_AES_128_GCM_SHA256';
  const cipherOf = async (socket: tls.TLSSocket) => {
    const name = socket.getCipher().name;
    socket.destroy();
    return name;
  };

  it("dial offers AES-128-GCM first, so a server that follows the client's order picks it", async () => {
    const { keyPem, certPem } = generateSelfSignedCert('127.0.0.1');
    // honorCipherOrder false: Node's servers otherwise pick by their own order.
    const server = tls.createServer({ key: keyPem, cert: certPem, honorCipherOrder: false }, (s) => s.resume());
    const port = await listen(server as unknown as net.Server);
    const plain = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    await once(plain, 'secureConnect');
    // Control: Node's default order gets AES-256-GCM from this server, so the assertion below can fail.
    expect(await cipherOf(plain)).toBe('TLS_AES_256_GCM_SHA384');
    const dialed = await dial({ host: '127.0.0.1', port, tls: true, timeoutMs: 5_000 });
    expect(await cipherOf(dialed.tlsSocket!)).toBe(AES128);
  });

  it('the host picks AES-128-GCM even for a client whose own order puts AES-256-GCM first', async () => {
    const h = await host();
    const socket = tls.connect({
      host: '127.0.0.1',
      port: h.port,
      rejectUnauthorized: false,
      ciphers: 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256',
    });
    await once(socket, 'secureConnect');
    expect(await cipherOf(socket)).toBe(AES128);
  });

  it('the host keeps ChaCha20 for a client that lists it first (Go does so without AES instructions)', async () => {
    const h = await host();
    const socket = tls.connect({
      host: '127.0.0.1',
      port: h.port,
      rejectUnauthorized: false,
      ciphers: 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256',
    });
    await once(socket, 'secureConnect');
    expect(await cipherOf(socket)).toBe('TLS_CHACHA20_POLY1305_SHA256');
  });

  it("follows the operator's list: a list without AES-128-GCM is used as it is", () => {
    const saved = tls.DEFAULT_CIPHERS;
    try {
      tls.DEFAULT_CIPHERS = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';
      expect(tlsCiphers()).toBe('TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256');
      tls.DEFAULT_CIPHERS = 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256';
      expect(tlsCiphers()).toBe('TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:ECDHE-RSA-AES128-GCM-SHA256');
    } finally {
      tls.DEFAULT_CIPHERS = saved;
    }
  });
});

describe('listenTcp and error mapping', () => {
  it('a busy port is E_PORT_TAKEN with the port in details', async () => {
    const busy = net.createServer();
    const port = await listen(busy);
    const second = net.createServer();
    defer(() => second.close());
    await expect(listenTcp(second, port, '127.0.0.1')).rejects.toMatchObject({
      code: 'E_PORT_TAKEN',
      details: { port },
    });
  });

  it('maps errno codes to stable error codes and keeps coded errors as they are', () => {
    const errno = (code: string) => Object.assign(new Error(code), { code });
    expect(mapSocketError(errno('ECONNREFUSED'), 'h').code).toBe('E_UNREACHABLE');
    expect(mapSocketError(errno('ETIMEDOUT'), 'h').code).toBe('E_TIMEOUT');
    expect(mapSocketError(errno('ERR_SSL_WRONG_VERSION_NUMBER'), 'h').code).toBe('E_TLS');
    expect(mapSocketError(errno('EWHATEVER'), 'h').code).toBe('E_UNREACHABLE');
  });
});
