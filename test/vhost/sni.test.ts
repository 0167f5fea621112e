import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { P2prcError } from '../../src/errors.js';
import { ClientHelloDecoder, MAX_CLIENT_HELLO_BYTES, type SniResult } from '../../src/vhost/sni.js';
import { defer, useWorkspace } from '../helpers/workspace.js';

useWorkspace();

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const vec16 = (b: Buffer) => Buffer.concat([u16(b.length), b]);
const vec8 = (b: Buffer) => Buffer.concat([Buffer.from([b.length]), b]);

function sniExtension(names: Array<[type: number, name: string]>): Buffer {
  const list = Buffer.concat(names.map(([t, n]) => Buffer.concat([Buffer.from([t]), vec16(Buffer.from(n, 'latin1'))])));
  return Buffer.concat([u16(0), vec16(vec16(list))]);
}

/** A ClientHello handshake message (type, u24 length, body), built field by field. */
function clientHello(o: { extensions?: Buffer[] | null; sessionId?: Buffer; suites?: Buffer } = {}): Buffer {
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7),
    vec8(o.sessionId ?? Buffer.alloc(32, 1)),
    vec16(o.suites ?? Buffer.from([0x13, 0x01, 0xc0, 0x2f])),
    vec8(Buffer.from([0])),
    o.extensions === null ? Buffer.alloc(0) : vec16(Buffer.concat(o.extensions ?? [])),
  ]);
  return Buffer.concat([Buffer.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
}

/** The handshake message in TLS records of at most `size` bytes each. */
function records(handshake: Buffer, size = 16384): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < handshake.length; i += size) {
    const part = handshake.subarray(i, i + size);
    out.push(Buffer.from([0x16, 3, 1]), u16(part.length), part);
  }
  return Buffer.concat(out);
}

const withName = (name: string) => records(clientHello({ extensions: [sniExtension([[0, name]])] }));

function decode(bytes: Buffer, cuts: number[] = [], max?: number): SniResult {
  const d = new ClientHelloDecoder(max);
  let r: SniResult = d.push(Buffer.alloc(0));
  let from = 0;
  for (const at of [...cuts, bytes.length]) {
    r = d.push(bytes.subarray(from, at));
    from = at;
  }
  return r;
}

function code(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(P2prcError);
    return (e as P2prcError).code;
  }
}

/** The first bytes Node's own TLS client sends, for `servername`. */
async function capturedHello(servername?: string): Promise<Buffer> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => new Promise((r) => server.close(r)));
  const got = once(server, 'connection') as Promise<[net.Socket]>;
  const client = tls.connect({
    port: (server.address() as net.AddressInfo).port,
    host: '127.0.0.1',
    rejectUnauthorized: false,
    ...(servername ? { servername } : {}),
  });
  client.on('error', () => undefined);
  defer(() => client.destroy());
  const [socket] = await got;
  defer(() => socket.destroy());
  const decoder = new ClientHelloDecoder();
  for (;;) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    if (decoder.push(chunk).kind !== 'more') return Buffer.from(decoder.held);
  }
}

describe('ClientHelloDecoder (pure)', () => {
  it("reads the server name of Node's own ClientHello, case folded, and 'none' without one", async () => {
    expect(decode(await capturedHello('App.Test'))).toEqual({ kind: 'name', name: 'app.test' });
    expect(decode(await capturedHello())).toEqual({ kind: 'none' });
  });

  it('asks for exactly the bytes it needs: a record header, then its body', () => {
    const hello = withName('a.example');
    const d = new ClientHelloDecoder();
    expect(d.push(Buffer.alloc(0))).toEqual({ kind: 'more', need: 5 });
    expect(d.push(hello.subarray(0, 3))).toEqual({ kind: 'more', need: 2 });
    expect(d.push(hello.subarray(3, 5))).toEqual({ kind: 'more', need: hello.length - 5 });
    expect(d.push(hello.subarray(5))).toEqual({ kind: 'name', name: 'a.example' });
    expect(d.held.equals(hello)).toBe(true);
  });

  it('gathers a ClientHello split over many records', () => {
    const handshake = clientHello({ extensions: [Buffer.from([0, 23, 0, 0]), sniExtension([[0, 'x.y.example']])] });
    expect(decode(records(handshake, 1))).toEqual({ kind: 'name', name: 'x.y.example' });
    expect(decode(records(handshake, 3), [1, 7, 8])).toEqual({ kind: 'name', name: 'x.y.example' });
  });

  it.each([
    ['no extensions at all', records(clientHello({ extensions: null }))],
    ['extensions without server_name', records(clientHello({ extensions: [Buffer.from([0, 23, 0, 0])] }))],
    ['a server_name list with no host_name', records(clientHello({ extensions: [sniExtension([[1, 'x']])] }))],
  ])("'none' for %s", (_why, bytes) => expect(decode(bytes)).toEqual({ kind: 'none' }));

  const hello = clientHello({ extensions: [sniExtension([[0, 'a.example']])] });
  const big = Buffer.concat([Buffer.from([1, 0, 0x40, 0]), Buffer.alloc(0x4000)]);
  it.each([
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\n\r\n'), 'E_PROTOCOL'],
    ['an application-data record', Buffer.from([0x17, 3, 3, 0, 1, 0]), 'E_PROTOCOL'],
    ['record version 2', Buffer.from([0x16, 2, 0, 0, 1, 0]), 'E_PROTOCOL'],
    ['an empty record', Buffer.from([0x16, 3, 1, 0, 0]), 'E_PROTOCOL'],
    ['a record over 2^14', Buffer.from([0x16, 3, 1, 0x40, 1]), 'E_PROTOCOL'],
    ['a ServerHello', records(Buffer.concat([Buffer.from([2]), hello.subarray(1)])), 'E_PROTOCOL'],
    ['a ClientHello over the cap', records(big).subarray(0, 9), 'E_TOO_LARGE'],
    ['a 33-byte session id', records(clientHello({ sessionId: Buffer.alloc(33) })), 'E_PROTOCOL'],
    ['odd cipher suites', records(clientHello({ suites: Buffer.from([1, 2, 3]) })), 'E_PROTOCOL'],
    ['a name with a space', withName('a b.example'), 'E_PROTOCOL'],
    ['a name with an empty label', withName('a..example'), 'E_PROTOCOL'],
    ['a name of 254 bytes', withName(`${'a.'.repeat(126)}ab`), 'E_PROTOCOL'],
    [
      'an extension running past the end',
      records(clientHello({ extensions: [Buffer.from([0, 0, 0, 9, 0])] })),
      'E_PROTOCOL',
    ],
    [
      'a change-cipher-spec record inside the ClientHello',
      Buffer.concat([Buffer.from([0x16, 3, 1]), u16(10), hello.subarray(0, 10), Buffer.from([0x14, 3, 3, 0, 1, 1])]),
      'E_PROTOCOL',
    ],
  ])('refuses %s with %s', (_why, bytes, want) => expect(code(() => decode(bytes))).toBe(want));

  it('a record larger than the cap is refused from its header, before its body is awaited', () => {
    expect(code(() => decode(Buffer.from([0x16, 3, 1, 0x01, 0x00]), [], 200))).toBe('E_TOO_LARGE');
  });

  it('fuzz: random bytes in random chunks raise only coded errors and never hold past the cap', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.array(fc.nat(600)),
        fc.constantFrom('raw', 'record', 'hello'),
        (bytes, cuts, shape) => {
          // Raw bytes; or behind a TLS record head; or as the body of a ClientHello, to fuzz the walk inside it.
          const random = Buffer.from(bytes);
          if (shape === 'record' && random.length >= 3) random.set([0x16, 3, 1]);
          const input =
            shape === 'hello'
              ? records(Buffer.concat([Buffer.from([1, 0, random.length >> 8, random.length & 0xff]), random]))
              : random;
          const d = new ClientHelloDecoder(400);
          const points = [...new Set(cuts.filter((c) => c <= input.length))].sort((a, b) => a - b);
          let from = 0;
          try {
            for (const at of [...points, input.length]) {
              const r = d.push(input.subarray(from, at));
              from = at;
              expect(d.held.length).toBeLessThanOrEqual(400);
              if (r.kind === 'more') expect(r.need).toBeGreaterThan(0);
              if (r.kind === 'more') expect(d.held.length + r.need).toBeLessThanOrEqual(400);
            }
          } catch (e) {
            expect(e).toBeInstanceOf(P2prcError);
            expect(['E_PROTOCOL', 'E_TOO_LARGE']).toContain((e as P2prcError).code);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('fuzz: a changed byte or a cut anywhere gives a coded error or an answer, the same however it is chunked', () => {
    const base = withName('svc.app.example');
    fc.assert(
      fc.property(
        fc.nat(base.length - 1),
        fc.integer({ min: 0, max: 255 }),
        fc.array(fc.nat(base.length)),
        (at, v, cuts) => {
          const mutated = Buffer.from(base);
          mutated[at] = v;
          for (const bytes of [mutated, base.subarray(0, at)]) {
            const points = [...new Set(cuts.filter((c) => c <= bytes.length))].sort((a, b) => a - b);
            const whole = outcome(() => decode(bytes));
            expect(outcome(() => decode(bytes, points))).toEqual(whole);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('fuzz: any host name in any record split and chunking is found', () => {
    const label = fc.stringMatching(/^[a-z0-9_-]{1,20}$/);
    fc.assert(
      fc.property(
        fc.array(label, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 300 }),
        fc.array(fc.nat(2000)),
        (labels, size, cuts) => {
          const name = labels.join('.');
          const bytes = records(
            clientHello({ extensions: [Buffer.from([0, 10, 0, 2, 0, 29]), sniExtension([[0, name.toUpperCase()]])] }),
            size,
          );
          const points = [...new Set(cuts.filter((c) => c <= bytes.length))].sort((a, b) => a - b);
          expect(decode(bytes, points)).toEqual({ kind: 'name', name });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('the cap is one full record and its header', () => {
    expect(MAX_CLIENT_HELLO_BYTES).toBe(16384 + 5);
  });
});

function outcome(f: () => SniResult): SniResult | string {
  try {
    return f();
  } catch (e) {
    expect(e).toBeInstanceOf(P2prcError);
    return (e as P2prcError).code;
  }
}
