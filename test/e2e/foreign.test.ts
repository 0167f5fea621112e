import { describe, expect, it } from 'vitest';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { once } from 'node:events';
import { generateSelfSignedCert } from '../../src/transport/cert.js';
import { runCli } from '../helpers/cli.js';
import { useWorkspace } from '../helpers/workspace.js';

// A server that is not a p2prc host at the address, in TLS and plaintext modes.
const { tempDir, defer } = useWorkspace();

async function listening(server: net.Server): Promise<number> {
  defer(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

const reply = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('hello');

async function connect(port: number, extra: string[] = []) {
  const dir = tempDir('foreign');
  // No --exit-on-login-failure: another protocol must fail at once, not be retried forever.
  return runCli(
    ['-s', '--connect-reverse-proxy', `127.0.0.1:${port}`, '--token', 't', '--config-dir', dir, ...extra],
    {},
    20_000,
  );
}

describe('not a p2prc host', () => {
  const cert = generateSelfSignedCert('not-p2prc');
  const cases: Array<[string, () => net.Server, string, string[]]> = [
    ['an HTTP server, TLS mode', () => http.createServer(reply), 'HTTP', []],
    ['an HTTP server, plaintext mode', () => http.createServer(reply), 'HTTP', ['--no-tls']],
    [
      'an HTTPS server, TLS mode',
      () => https.createServer({ cert: cert.certPem, key: cert.keyPem }, reply),
      'HTTP',
      [],
    ],
    [
      'a TLS server, plaintext mode',
      () => https.createServer({ cert: cert.certPem, key: cert.keyPem }, reply),
      'TLS',
      ['--no-tls'],
    ],
    ['an SSH server, TLS mode', () => net.createServer((s) => s.end('SSH-2.0-OpenSSH_9.6\r\n')), 'SSH', []],
    [
      'an SSH server, plaintext mode',
      () => net.createServer((s) => s.end('SSH-2.0-OpenSSH_9.6\r\n')),
      'SSH',
      ['--no-tls'],
    ],
  ];
  for (const [name, make, protocol, extra] of cases) {
    it(`${name}: E_PROTOCOL "it answered ${protocol}", exit 1`, async () => {
      const port = await listening(make());
      const r = await connect(port, extra);
      expect(r.stderr).toContain(
        `p2prc: error E_PROTOCOL: 127.0.0.1:${port} is not a p2prc host (it answered ${protocol})`,
      );
      expect(r.code).toBe(1);
    });
  }
});

/** Reads a line, then answers like `python3 -m http.server` does to a line it cannot parse: an error page, no status line. */
const lineReader = () =>
  net.createServer((s) => {
    s.on('error', () => undefined);
    let seen = '';
    s.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      if (seen.includes('\n')) s.end('<!DOCTYPE HTML>\n<html><body>Error response 400</body></html>\n');
    });
  });
/** Answers anything with bytes of no known protocol. */
const garbage = () =>
  net.createServer((s) => (s.on('error', () => undefined), s.end(Buffer.from('\x01\x02\x03\x04\x05\x06\x07\x08\x09'))));
/** Accepts and never says a word. */
const silent = () => net.createServer((s) => s.on('error', () => undefined));

describe('not a p2prc host, whatever the server', () => {
  const cases: Array<[string, () => net.Server, string, string[]]> = [
    ['a line-reading HTTP server (python http.server), TLS mode', lineReader, 'HTTP', []],
    ['a line-reading HTTP server (python http.server), plaintext mode', lineReader, 'HTTP', ['--no-tls']],
    ['a server of no known protocol, TLS mode', garbage, 'neither TLS nor p2prc', []],
    ['a server of no known protocol, plaintext mode', garbage, 'bytes that are not p2prc', ['--no-tls']],
    ['a silent server, plaintext mode', silent, 'nothing within 10 s', ['--no-tls']],
  ];
  for (const [name, make, answer, extra] of cases) {
    it(`${name}: E_PROTOCOL "it answered ${answer}", exit 1, no retry`, async () => {
      const port = await listening(make());
      const r = await connect(port, extra);
      expect(r.stderr).toContain(
        `p2prc: error E_PROTOCOL: 127.0.0.1:${port} is not a p2prc host (it answered ${answer})`,
      );
      expect(r.stderr).not.toMatch(/OpenSSL|ssl3_|retrying/);
      expect(r.code).toBe(1);
    });
  }

  it('--list-services against a line-reading HTTP server names HTTP, exit 1', async () => {
    const port = await listening(lineReader());
    const r = await runCli([
      '--list-services',
      `127.0.0.1:${port}`,
      '--token',
      't',
      '--config-dir',
      tempDir('foreign'),
    ]);
    expect(r.stderr).toContain(`p2prc: error E_PROTOCOL: 127.0.0.1:${port} is not a p2prc host (it answered HTTP)`);
    expect(r.code).toBe(1);
  });
});
