import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { promisify } from 'node:util';
import { requestCapped } from '../../src/node/http-request.js';
import { P2prcError } from '../../src/errors.js';
import { freePort } from '../helpers/newuser.js';
import { sourceModuleUrl } from '../../scripts/source-module.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  defer(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(P2prcError);
  return (err as P2prcError).code;
}

describe('requestCapped: one bounded HTTP exchange with a peer node', () => {
  it('returns the status and body of any answer, and sends a POST body with its length', async () => {
    const base = await serve((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.statusCode = req.url === '/missing' ? 404 : 200;
        res.end(
          `${req.method} ${req.headers['content-type'] ?? '-'} ${req.headers['content-length'] ?? '-'} ${Buffer.concat(chunks).toString()}`,
        );
      });
    });
    expect(await requestCapped(`${base}/ip_table`, {}, 5_000, 1024)).toEqual({ status: 200, body: 'GET - - ' });
    expect((await requestCapped(`${base}/missing`, {}, 5_000, 1024)).status).toBe(404);
    const posted = await requestCapped(
      `${base}/IpTable`,
      { method: 'POST', headers: { 'content-type': 'x/y' }, body: Buffer.from('héllo') },
      5_000,
      1024,
    );
    expect(posted).toEqual({ status: 200, body: 'POST x/y 6 héllo' });
  });

  it('refuses a body over the cap, whether declared or streamed without a length, and hangs up at once', async () => {
    const closed: Array<Promise<unknown>> = [];
    const base = await serve((req, res) => {
      closed.push(once(req.socket, 'close'));
      if (req.url === '/declared') {
        // The length alone must do it: the body never comes (the timeout below is far away).
        res.writeHead(200, { 'content-length': 4096 });
        res.write('x');
        return;
      }
      res.write(Buffer.alloc(600, 0x61)); // chunked: the size shows only while streaming
      res.write(Buffer.alloc(600, 0x61)); // and the answer never ends
    });
    const declared = await requestCapped(`${base}/declared`, {}, 30_000, 1000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(declared).toMatchObject({ code: 'E_TOO_LARGE', message: expect.stringMatching(/body of 4096 bytes/) });
    expect(await codeOf(requestCapped(`${base}/streamed`, {}, 30_000, 1000))).toBe('E_TOO_LARGE');
    // Refused means closed: the server sees both connections end although its answers never did.
    await Promise.all(closed);
  });

  it('reads a streamed body up to the cap', async () => {
    const base = await serve((_req, res) => {
      res.write(Buffer.alloc(600, 0x61));
      res.end(Buffer.alloc(600, 0x61));
    });
    expect((await requestCapped(`${base}/streamed`, {}, 5_000, 1200)).body).toHaveLength(1200);
  });

  it('bounds the whole exchange in time: a peer that never answers, and one that sends its body forever', async () => {
    const silent = await serve(() => undefined);
    expect(await codeOf(requestCapped(`${silent}/ip_table`, {}, 200, 1024))).toBe('E_TIMEOUT');
    const drip = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 20);
      res.on('close', () => clearInterval(timer));
    });
    expect(await codeOf(requestCapped(`${drip}/ip_table`, {}, 300, 1 << 20))).toBe('E_TIMEOUT');
  });

  it('a closed port is E_UNREACHABLE, a peer that hangs up mid-answer too, and a non-HTTP URL is E_USAGE', async () => {
    const closed = await freePort();
    expect(await codeOf(requestCapped(`http://127.0.0.1:${closed}/ip_table`, {}, 5_000, 1024))).toBe('E_UNREACHABLE');
    // Headers and part of the body are out before the hang-up: the answer is cut short mid-body.
    const cut = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': 100 });
      res.write('partial', () => setTimeout(() => res.socket?.destroy(), 50));
    });
    expect(await codeOf(requestCapped(`${cut}/ip_table`, {}, 5_000, 1024))).toBe('E_UNREACHABLE');
    expect(await codeOf(requestCapped('file:///etc/passwd', {}, 5_000, 1024))).toBe('E_USAGE');
    expect(
      await codeOf(requestCapped(`${cut}/ip_table`, { headers: { 'content-type': 'a\r\nx: y' } }, 5_000, 1024)),
    ).toBe('E_USAGE');
  });

  it("does not load fetch's undici: a node that polls its peers stays small (the module bundled as the CLI runs it)", async () => {
    const base = await serve((_req, res) => res.end('{"ip_address":[]}'));
    const script = `
      const { requestCapped } = await import(${JSON.stringify(sourceModuleUrl('node/http-request.ts'))});
      const r = await requestCapped(process.argv[1] + '/ip_table', {}, 5000, 1024);
      console.log(JSON.stringify({ body: r.body, undici: process.moduleLoadList.some((m) => m.includes('undici')) }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, base]);
    expect(JSON.parse(stdout)).toEqual({ body: '{"ip_address":[]}', undici: false });
  });
});
