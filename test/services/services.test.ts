import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ServiceVisitor, listServices, P2prcError } from '../../src/index.js';
import { client, echoServer, host, listen, roundTrip, sha256, until } from '../helpers/engine.js';
import { tapProxy } from '../helpers/tap.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

const SECRET = 'correct horse battery staple';
/** The same owner key after a restart: the host keeps the ID bound to it while the owner is away. */
const OWNER_KEY = 'ab'.repeat(32);

async function setup(tls = false) {
  const h = await host({ tls });
  const logs: string[] = [];
  h.host.on('log', (l) => logs.push(l.message));
  const echo = await echoServer();
  const seen: string[] = [];
  const owner = client(h, {
    tunnels: [],
    services: [{ id: 'echo-svc', description: 'an echo', secret: SECRET, localPort: echo, ownerKey: OWNER_KEY }],
  });
  await owner.ready;
  const tap = await tapProxy(h.port);
  const access = { host: '127.0.0.1', port: tap.port, token: h.token, tls, fingerprint: h.fingerprint };
  return { h, logs, owner, tap, access, seen };
}

async function visit(access: object, secret = SECRET, serviceId = 'echo-svc'): Promise<ServiceVisitor> {
  // These tests are about the relayed path; test/engine/direct.test.ts covers the direct one.
  const v = new ServiceVisitor({
    ...(access as { host: string; token: string }),
    serviceId,
    secret,
    localPort: 0,
    direct: 'off',
  });
  defer(() => v.close());
  await v.start();
  return v;
}

const codeOf = async (p: Promise<unknown>) =>
  (
    (await p.then(
      () => undefined,
      (e: unknown) => e,
    )) as P2prcError | undefined
  )?.code;

describe('services by ID', () => {
  it('lists without secrets or addresses, visits, moves 16 MiB and serves 50 concurrent connections', async () => {
    const { access, tap } = await setup();
    const list = await listServices(access);
    expect(list).toEqual([
      { id: 'echo-svc', description: 'an echo', owner: expect.any(String), online: true, since: expect.any(String) },
    ]);
    expect(JSON.stringify(list)).not.toContain(SECRET);
    expect(JSON.stringify(list)).not.toContain('127.0.0.1');
    const v = await visit(access);
    const payload = Buffer.concat([Buffer.from('PLAINTEXT-MARKER-'.repeat(64)), randomBytes(16 * 1024 * 1024)]);
    const back = await roundTrip(v.port, payload);
    expect(back.sha).toBe(sha256(payload));
    const all = await Promise.all(
      Array.from({ length: 50 }, (_, i) => roundTrip(v.port, Buffer.from(`visitor ${i}`.repeat(50)))),
    );
    all.forEach((r, i) => expect(r.sha).toBe(sha256(Buffer.from(`visitor ${i}`.repeat(50)))));
    const captured = tap.captured();
    expect(captured.includes(Buffer.from(SECRET))).toBe(false);
    expect(captured.includes(Buffer.from('PLAINTEXT-MARKER-PLAINTEXT-MARKER'))).toBe(false);
  }, 60_000);

  it('wrong secret: E_SECRET, nothing reaches the service, and the host logs the visitor address', async () => {
    const h = await host({ tls: false });
    const logs: string[] = [];
    h.host.on('log', (l) => logs.push(l.message));
    let reached = 0;
    const svc = net.createServer((s) => (reached++, s.destroy()));
    svc.listen(0, '127.0.0.1');
    await once(svc, 'listening');
    defer(() => svc.close());
    await client(h, {
      tls: false,
      tunnels: [],
      services: [{ id: 's', secret: SECRET, localPort: (svc.address() as net.AddressInfo).port }],
    }).ready;
    const access = { host: '127.0.0.1', port: h.port, token: h.token, tls: false };
    expect(await codeOf(visit(access, 'wrong', 's'))).toBe('E_SECRET');
    await until(
      () => logs.some((m) => m.includes('wrong secret for service s from visitor 127.0.0.1:')),
      5_000,
      'the host log line',
    );
    expect(reached).toBe(0);
    expect(await codeOf(visit(access, SECRET, 'no-such-id'))).toBe('E_NOT_FOUND');
  });

  it('owner disconnects: visitors closed promptly, list shows offline; back: online and working', async () => {
    const { h, owner, access } = await setup();
    const v = await visit(access);
    const open = net.connect(v.port, '127.0.0.1');
    defer(() => open.destroy());
    open.on('error', () => undefined);
    await once(open, 'connect');
    open.write('hello');
    await once(open, 'data');
    await owner.close();
    await once(open, 'close');
    expect((await listServices(access))[0]!.online).toBe(false);
    const again = client(h, {
      tunnels: [],
      services: [{ id: 'echo-svc', secret: SECRET, localPort: await echoServer(), ownerKey: OWNER_KEY }],
    });
    await again.ready;
    expect((await listServices(access))[0]!.online).toBe(true);
    const msg = Buffer.from('works again');
    expect((await roundTrip(v.port, msg)).sha).toBe(sha256(msg));
  });

  it("a flipped bit in a visitor's record: the owner drops it before the service sees a byte of it, and closes", async () => {
    const { h, access, tap } = await setup();
    const got: Buffer[] = [];
    const svc = net.createServer(
      (s) => (s.on('data', (d: Buffer) => (got.push(d), s.write(d))), s.on('error', () => s.destroy())),
    );
    const svcPort = await listen(svc);
    await client(h, { tunnels: [], services: [{ id: 'counted', secret: SECRET, localPort: svcPort }] }).ready;
    const v = await visit(access, SECRET, 'counted');
    const s = net.connect(v.port, '127.0.0.1');
    defer(() => s.destroy());
    s.on('error', () => undefined);
    await once(s, 'connect');
    s.write('intact');
    await once(s, 'data');
    tap.flipNext();
    s.write(randomBytes(4096));
    await once(s, 'close');
    // Only the intact record reached the service: the tampered one failed authentication at the owner.
    expect(Buffer.concat(got).toString()).toBe('intact');
  });

  it("a flipped bit in the owner's record: the visitor reports E_AUTH and closes that connection", async () => {
    const { h, access, tap } = await setup();
    const svc = net.createServer(
      (s) => (s.once('data', () => s.write(randomBytes(4096))), s.on('error', () => s.destroy())),
    );
    const svcPort = await listen(svc);
    await client(h, { tunnels: [], services: [{ id: 'talker', secret: SECRET, localPort: svcPort }] }).ready;
    const v = await visit(access, SECRET, 'talker');
    const reported = once(v, 'error') as Promise<[P2prcError]>;
    const s = net.connect(v.port, '127.0.0.1');
    defer(() => s.destroy());
    s.on('error', () => undefined);
    let received = 0;
    s.on('data', (d: Buffer) => (received += d.length));
    await once(s, 'connect');
    tap.flipNext(); // the visitor's records here are a few bytes; the first one over 1 KiB is the owner's reply
    s.write('go');
    const [err] = await reported;
    expect(err.code).toBe('E_AUTH');
    await once(s, 'close');
    expect(received).toBe(0); // nothing of the tampered record was handed to the visitor's side
  });
});
