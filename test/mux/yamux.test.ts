import { Duplex } from 'node:stream';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { P2prcError, isP2prcError } from '../../src/errors.js';
import { FrameType, INITIAL_WINDOW, YamuxDecoder, encodeHeader, type YamuxFrame } from '../../src/mux/frame.js';
import { YamuxSession } from '../../src/mux/session.js';
import type { YamuxStream } from '../../src/mux/stream.js';
import { until } from '../helpers/engine.js';

/** Two in-memory ends of one connection: what one writes, the other reads, a tick later as on a socket. */
function duplexPair(): [Duplex, Duplex] {
  const end = (to: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk, _e, done) {
        process.nextTick(() => to().push(chunk));
        done();
      },
      final(done) {
        process.nextTick(() => to().push(null));
        done();
      },
      destroy(err, done) {
        const other = to();
        if (!other.destroyed) other.destroy();
        done(err);
      },
    });
  const a: Duplex = end(() => b);
  const b: Duplex = end(() => a);
  return [a, b];
}

function sessions(): { client: YamuxSession; server: YamuxSession; accepted: Promise<YamuxStream> } {
  const [c, s] = duplexPair();
  const client = new YamuxSession(c, { client: true, accept: false });
  const server = new YamuxSession(s, { client: false, accept: true });
  const accepted = new Promise<YamuxStream>((resolve) => server.once('stream', resolve));
  return { client, server, accepted };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('yamux frames', () => {
  it('round-trip through the decoder whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            type: fc.constantFrom(0, 1, 2, 3),
            flags: fc.integer({ min: 0, max: 15 }),
            streamId: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
            body: fc.uint8Array({ maxLength: 300 }),
            length: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
          }),
          { maxLength: 20 },
        ),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }),
        (frames, cuts) => {
          const want: YamuxFrame[] = frames.map((f) =>
            f.type === FrameType.Data
              ? { type: f.type, flags: f.flags, streamId: f.streamId, length: f.body.length, body: Buffer.from(f.body) }
              : { type: f.type, flags: f.flags, streamId: f.streamId, length: f.length },
          );
          const wire = Buffer.concat(
            want.map((f) =>
              Buffer.concat([encodeHeader(f.type, f.flags, f.streamId, f.length), f.body ?? Buffer.alloc(0)]),
            ),
          );
          const decoder = new YamuxDecoder(() => INITIAL_WINDOW);
          const got: YamuxFrame[] = [];
          for (let off = 0, i = 0; off < wire.length; i++) {
            const n = cuts[i % cuts.length]!;
            got.push(...decoder.push(wire.subarray(off, off + n)));
            off += n;
          }
          expect(got.map((f) => ({ ...f, body: f.body && Buffer.from(f.body) }))).toEqual(want);
        },
      ),
    );
  });

  it('in partial mode hands bodies on as they arrive: pieces rejoin to the frames, SYN/ACK first, FIN/RST last', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            flags: fc.integer({ min: 0, max: 15 }),
            streamId: fc.integer({ min: 1, max: 9 }),
            body: fc.uint8Array({ minLength: 1, maxLength: 300 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }),
        (frames, cuts) => {
          const wire = Buffer.concat(
            frames.map((f) =>
              Buffer.concat([encodeHeader(FrameType.Data, f.flags, f.streamId, f.body.length), Buffer.from(f.body)]),
            ),
          );
          const decoder = new YamuxDecoder(() => INITIAL_WINDOW, true);
          const got: YamuxFrame[] = [];
          for (let off = 0, i = 0; off < wire.length; i++) {
            const n = cuts[i % cuts.length]!;
            got.push(...decoder.push(wire.subarray(off, off + n)));
            off += n;
          }
          let k = 0;
          for (const f of frames) {
            const parts: Buffer[] = [];
            let flags = 0;
            const first = k;
            while (Buffer.concat(parts).length < f.body.length) {
              const p = got[k++]!;
              expect(p.streamId).toBe(f.streamId);
              if (k - 1 !== first) expect(p.flags & 0b0011).toBe(0);
              flags |= p.flags;
              parts.push(p.body!);
            }
            expect(Buffer.concat(parts)).toEqual(Buffer.from(f.body));
            expect(flags).toBe(f.flags);
            expect(got[first]!.flags & 0b0011).toBe(f.flags & 0b0011);
            expect(got[k - 1]!.flags & 0b1100).toBe(f.flags & 0b1100);
          }
          expect(k).toBe(got.length);
        },
      ),
    );
  });

  it('refuses a data frame larger than the stream window from its header alone', () => {
    const decoder = new YamuxDecoder(() => 1024);
    expect(() => decoder.push(encodeHeader(FrameType.Data, 0, 1, 1025))).toThrow(
      expect.objectContaining({ code: 'E_PROTOCOL' }),
    );
  });
});

describe('yamux session and streams', () => {
  it('carries bytes both ways and half-closes', async () => {
    const { client, accepted } = sessions();
    const a = client.openStream();
    const b = await accepted;
    const up = randomBytes(300_000);
    a.end(up);
    const chunks: Buffer[] = [];
    b.on('data', (c: Buffer) => chunks.push(c));
    await once(b, 'end');
    expect(sha(Buffer.concat(chunks))).toBe(sha(up));
    b.end('reply');
    const [reply] = (await once(a, 'data')) as [Buffer];
    expect(reply.toString()).toBe('reply');
    client.close();
  });

  it('a writer stops at the peer window until the reader drains, then every byte arrives', async () => {
    const { client, accepted } = sessions();
    const a = client.openStream();
    const payload = randomBytes(4 * INITIAL_WINDOW);
    let written = false;
    a.write(payload, () => (written = true));
    const b = await accepted;
    b.pause();
    await until(() => b.readableLength >= INITIAL_WINDOW, 5_000, 'the first window to arrive');
    expect(b.readableLength).toBe(INITIAL_WINDOW);
    expect(a.sendWindow).toBe(0);
    expect(written).toBe(false);
    const chunks: Buffer[] = [];
    b.on('data', (c: Buffer) => chunks.push(c));
    b.resume();
    await until(() => chunks.reduce((n, c) => n + c.length, 0) === payload.length, 5_000, 'all bytes');
    expect(sha(Buffer.concat(chunks))).toBe(sha(payload));
    await until(() => written, 5_000, 'the write callback');
    client.close();
  });

  it('a window larger than 256 KB, announced on open, lets exactly that much through to a paused reader', async () => {
    const [c, s] = duplexPair();
    const window = 1024 * 1024;
    const client = new YamuxSession(c, { client: true, accept: false, window });
    const server = new YamuxSession(s, { client: false, accept: true, window });
    const accepted = new Promise<YamuxStream>((resolve) => server.once('stream', resolve));
    const a = client.openStream();
    const b = await accepted;
    b.pause();
    a.write(randomBytes(3 * window));
    await until(() => b.readableLength >= window, 5_000, 'one window');
    await new Promise((r) => setImmediate(r));
    expect(b.readableLength).toBe(window);
    expect(a.sendWindow).toBe(0);
    client.close();
  });

  it('a stream reset by the peer fails with a coded P2prcError', async () => {
    const { client, accepted } = sessions();
    const a = client.openStream();
    a.write('hello');
    const b = await accepted;
    const failed = once(b, 'error');
    a.destroy();
    const [err] = (await failed) as [Error];
    expect(err).toBeInstanceOf(P2prcError);
    expect(isP2prcError(err, 'E_CLOSED')).toBe(true);
    expect((err as P2prcError).details.streamId).toBe(a.id);
    client.close();
  });

  it('a peer that sends garbage gets the session closed with E_PROTOCOL, streams and all', async () => {
    const [c, s] = duplexPair();
    const server = new YamuxSession(s, { client: false, accept: true });
    const closed = once(server, 'close');
    c.write(Buffer.from([7, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]));
    const [reason] = (await closed) as [P2prcError | undefined];
    expect(reason?.code).toBe('E_PROTOCOL');
    expect(server.isClosed).toBe(true);
  });
});
