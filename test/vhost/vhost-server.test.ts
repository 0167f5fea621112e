import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VhostServer, type VhostRoute } from '../../src/vhost/vhost-server.js';
import { duplexPair } from '../../src/transport/pair.js';
import { relay } from '../../src/transport/relay.js';
import { httpServer } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

/** A route that reaches a local port through an in-memory pair, the way a tunnel sink is handed a visitor. */
function via(port: number, extra: Partial<VhostRoute> = {}): VhostRoute {
  return {
    owner: `local:${port}`,
    ...extra,
    connect(visitor) {
      const [mine, theirs] = duplexPair({}, visitor);
      const s = net.connect(port, '127.0.0.1');
      relay(theirs, s);
      return mine;
    },
  };
}

async function vhost(): Promise<VhostServer> {
  const v = new VhostServer(() => undefined);
  await v.listen(0, '127.0.0.1');
  defer(() => v.close());
  return v;
}

function get(
  port: number,
  host: string,
  path = '/',
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: { host, ...headers }, agent: false }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (c) => (body += c))
        .on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
  });
}

describe('VhostServer', () => {
  it('routes by Host and longest location, rewrites headers, checks basic auth, answers 404 for unknown hosts', async () => {
    const backend = await httpServer((req, res) => {
      res.setHeader('X-Seen-Host', String(req.headers.host));
      res.end(`${req.url} ${req.headers['x-from-where'] ?? '-'}`);
    });
    const v = await vhost();
    v.register(
      ['a.test'],
      ['', '/api'],
      via(backend, { rewriteHost: 'inner.test', headers: { 'X-From-Where': 'p2prc' } }),
    );
    v.register(['b.test'], ['/api/v2'], via(backend));
    v.register(['secret.test'], [], via(backend, { user: 'u', password: 'p' }));
    const a = await get(v.port, 'a.test:8080', '/api/x');
    expect(a).toMatchObject({ status: 200, body: '/api/x p2prc' });
    expect(a.headers['x-seen-host']).toBe('inner.test');
    expect((await get(v.port, 'b.test', '/api/v2/y')).body).toBe('/api/v2/y -');
    expect((await get(v.port, 'b.test', '/api/v1')).status).toBe(404);
    const missing = await get(v.port, 'nobody.test');
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('not found');
    const denied = await get(v.port, 'secret.test');
    expect(denied.status).toBe(401);
    expect(denied.headers['www-authenticate']).toBe('Basic realm="Restricted"');
    expect(
      (await get(v.port, 'secret.test', '/', { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` }))
        .status,
    ).toBe(200);
    expect(() => v.register(['a.test'], ['/api'], via(backend))).toThrow(
      expect.objectContaining({ code: 'E_CONFLICT' }),
    );
  });

  it('a request whose service cannot be reached gets 502 (it is published), and unregistering frees the name', async () => {
    const v = await vhost();
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const off = v.register(['gone.test'], [], via(deadPort));
    expect((await get(v.port, 'gone.test')).status).toBe(502);
    off();
    expect((await get(v.port, 'gone.test')).status).toBe(404);
    expect(v.router.size).toBe(0);
  });

  it('forwards a WebSocket upgrade and relays the frames both ways', async () => {
    const server = http.createServer();
    server.on('upgrade', (req, socket: net.Socket) => {
      const accept = createHash('sha1')
        .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      socket.pipe(socket); // echo the raw frames
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    defer(() => (server.closeAllConnections(), new Promise((r) => server.close(r))));
    const v = await vhost();
    v.register(['ws.test'], [], via((server.address() as net.AddressInfo).port));
    const s = net.connect(v.port, '127.0.0.1');
    defer(() => s.destroy());
    s.write(
      'GET /ws HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    let got = '';
    s.on('data', (c) => {
      got += c.toString('latin1');
      if (got.includes('\r\n\r\n') && !got.includes('frame')) s.write('frame-bytes');
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no echo; got ${JSON.stringify(got)}`)), 10_000);
      s.on('data', () => got.includes('frame-bytes') && (clearTimeout(timer), resolve()));
    });
    expect(got).toMatch(/^HTTP\/1.1 101 /);
    expect(got).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
});
