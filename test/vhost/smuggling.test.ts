import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { VhostServer, type VhostRoute } from '../../src/vhost/vhost-server.js';
import { duplexPair } from '../../src/transport/pair.js';
import { relay } from '../../src/transport/relay.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

/**
 * Splits bytes into HTTP/1.1 requests as a service would read them (Content-Length or chunked, else
 * no body): what a backend takes for separate requests, whatever the proxy meant.
 */
function requestsIn(bytes: Buffer): Array<{ line: string; host: string | undefined }> {
  const out: Array<{ line: string; host: string | undefined }> = [];
  let at = 0;
  for (;;) {
    const end = bytes.indexOf('\r\n\r\n', at);
    if (end < 0) return out;
    const lines = bytes.toString('latin1', at, end).split('\r\n');
    const header = (n: string) =>
      lines
        .find((l) => l.toLowerCase().startsWith(`${n}:`))
        ?.slice(n.length + 1)
        .trim()
        .toLowerCase();
    out.push({ line: lines[0]!, host: header('host') });
    at = end + 4;
    if (header('transfer-encoding') === 'chunked') {
      for (;;) {
        const eol = bytes.indexOf('\r\n', at);
        const size = parseInt(bytes.toString('latin1', at, eol), 16);
        at = eol + 2 + size + 2;
        if (size === 0) break;
      }
    } else at += Number(header('content-length') ?? 0);
  }
}

/** A raw backend that records every byte and answers each request it reads with `answer(n)`. */
async function recordingBackend(answer: (n: number) => string) {
  const received: Buffer[] = [];
  const closed: Array<Promise<unknown>> = [];
  const server = net.createServer((s) => {
    closed.push(once(s, 'close'));
    let answered = 0;
    s.on('data', (c) => {
      received.push(c);
      const n = requestsIn(Buffer.concat(received)).length;
      while (answered < n) s.write(answer(answered++));
    });
    s.on('error', () => s.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => new Promise((r) => server.close(r)));
  return {
    port: (server.address() as net.AddressInfo).port,
    /** Every request the backend read, once its connections closed. */
    async requests() {
      await Promise.all(closed);
      return requestsIn(Buffer.concat(received));
    },
  };
}

function via(port: number): VhostRoute {
  return {
    owner: `local:${port}`,
    connect(visitor) {
      const [mine, theirs] = duplexPair({}, visitor);
      relay(theirs, net.connect(port, '127.0.0.1'));
      return mine;
    },
  };
}

/** Sends raw bytes to the vhost port and reads until the host closes the connection. */
async function raw(port: number, text: string): Promise<string> {
  const s = net.connect(port, '127.0.0.1');
  defer(() => s.destroy());
  s.write(text); // not end(): a visitor half-closing makes Node drop its request
  let got = '';
  s.on('data', (c) => (got += c.toString('latin1')));
  await once(s, 'close');
  return got;
}

const SMUGGLED = 'GET /admin HTTP/1.1\r\nHost: secret.test\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n';

describe('request smuggling through the vhost', () => {
  it('a chunked GET reaches the service as one request, its body still chunked', async () => {
    const backend = await recordingBackend((n) => `HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nanswer${n}`);
    const v = new VhostServer(() => undefined);
    await v.listen(0, '127.0.0.1');
    defer(() => v.close());
    v.register(['pub.test'], [], via(backend.port));
    const body = `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`;
    const got = await raw(
      v.port,
      `GET / HTTP/1.1\r\nHost: pub.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(got).toMatch(/^HTTP\/1.1 200 /);
    expect(got).toContain('answer0');
    const requests = await backend.requests();
    expect(requests).toEqual([{ line: 'GET / HTTP/1.1', host: 'pub.test' }]);
  });

  it('ambiguous framing is refused with 400 and nothing reaches the service', async () => {
    const backend = await recordingBackend(() => 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    const v = new VhostServer(() => undefined);
    await v.listen(0, '127.0.0.1');
    defer(() => v.close());
    v.register(['pub.test'], [], via(backend.port));
    const heads = [
      'Content-Length: 4\r\nTransfer-Encoding: chunked',
      'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked',
      'Transfer-Encoding: gzip, chunked',
      'Transfer-Encoding: identity',
    ];
    for (const h of heads) {
      const got = await raw(v.port, `POST / HTTP/1.1\r\nHost: pub.test\r\n${h}\r\n\r\n0\r\n\r\n`);
      expect(got, h).toMatch(/^HTTP\/1.1 400 /);
    }
    expect(await backend.requests()).toEqual([]);
  });

  it('an upgrade relays nothing before the 101: a refused upgrade ends the connection, the smuggled request unread', async () => {
    const backend = await recordingBackend((n) =>
      n === 0
        ? 'HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno'
        : 'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled',
    );
    const v = new VhostServer(() => undefined);
    await v.listen(0, '127.0.0.1');
    defer(() => v.close());
    v.register(['pub.test'], [], via(backend.port));
    const got = await raw(
      v.port,
      `GET /ws HTTP/1.1\r\nHost: pub.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n${SMUGGLED}`,
    );
    expect(got).toMatch(/^HTTP\/1.1 403 Forbidden\r\n/);
    expect(got).toMatch(/\r\n\r\nno$/);
    expect(got).not.toContain('smuggled');
    expect(await backend.requests()).toEqual([{ line: 'GET /ws HTTP/1.1', host: 'pub.test' }]);
  });
});
