import { describe, expect, it } from 'vitest';
import net from 'node:net';
import tls from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { generateSelfSignedCert } from '../../src/transport/cert.js';
import { relay } from '../../src/transport/relay.js';
import { listen } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

/**
 * A real socket pair through the relay: `left` and `right` are the outer ends a user would hold,
 * the relay owns the two inner ends. Half-open everywhere, as the host and client use it.
 */
async function relayedPair(): Promise<{
  left: net.Socket;
  right: net.Socket;
  inner: [net.Socket, net.Socket];
  done: Promise<void>;
}> {
  const accepted: net.Socket[] = [];
  const waiting: Array<(s: net.Socket) => void> = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    const taker = waiting.shift();
    if (taker) taker(s);
    else accepted.push(s);
  });
  const port = await listen(server);
  const next = () =>
    new Promise<net.Socket>((resolve) => (accepted.length ? resolve(accepted.shift()!) : waiting.push(resolve)));
  const connect = async () => {
    const outer = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    defer(() => outer.destroy());
    outer.on('error', () => undefined);
    const inner = await next();
    defer(() => inner.destroy());
    return { outer, inner };
  };
  const a = await connect();
  const b = await connect();
  let finished!: () => void;
  const done = new Promise<void>((r) => (finished = r));
  relay(a.inner, b.inner, finished);
  return { left: a.outer, right: b.outer, inner: [a.inner, b.inner], done };
}

/** Everything read until the peer's FIN; unlike async iteration, leaves the socket open for writing. */
const readAll = (s: net.Socket) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => resolve(Buffer.concat(chunks).toString()));
    s.once('error', reject);
  });

describe('relay', () => {
  it("carries one side's FIN across while the other side keeps writing back", async () => {
    const { left, right } = await relayedPair();
    const rightGot = readAll(right);
    left.end('request');
    expect(await rightGot).toBe('request'); // the FIN arrived: the stream ended, the socket is still open
    expect(right.destroyed).toBe(false);
    const leftGot = readAll(left);
    right.write('response part 1, ');
    right.end('part 2');
    expect(await leftGot).toBe('response part 1, part 2');
  });

  it('a reset on one side destroys the other at once (no graceful end) and reports done', async () => {
    const { left, right, inner, done } = await relayedPair();
    const rightEnded = readAll(right);
    left.resetAndDestroy();
    await done;
    // An error tears down both inner ends immediately; a clean close would only end() them.
    expect(inner.map((s) => s.destroyed)).toEqual([true, true]);
    expect(await rightEnded).toBe('');
  });

  it('moves 8 MiB each way at once without loss or reordering', async () => {
    const { left, right } = await relayedPair();
    const payload = (tag: string) =>
      Buffer.from(Array.from({ length: 8 * 1024 }, (_, i) => `${tag}${String(i).padStart(1019, '.')}\n`).join(''));
    const [toRight, toLeft] = [payload('L'), payload('R')];
    const rightGot = readAll(right);
    const leftGot = readAll(left);
    left.end(toRight);
    right.end(toLeft);
    expect(await rightGot).toBe(toRight.toString());
    expect(await leftGot).toBe(toLeft.toString());
  });

  it('writes the TLS records that arrive in one poll phase to the other side in one call, and loses nothing', async () => {
    // A TLS socket hands its bytes on a 16 KB record at a time, each its own 'data': written one by
    // one, each record cost the relay a syscall.
    const { keyPem, certPem } = generateSelfSignedCert();
    const payload = randomBytes(1024 * 1024);
    const tlsServer = tls.createServer({ key: keyPem, cert: certPem }, (s) => s.end(payload));
    defer(() => tlsServer.close());
    const tlsPort = await listen(tlsServer);
    const sink = net.createServer({ allowHalfOpen: true });
    const received = new Promise<Buffer>((resolve) =>
      sink.once('connection', (s) => {
        const parts: Buffer[] = [];
        s.on('data', (c: Buffer) => parts.push(c));
        s.once('end', () => (resolve(Buffer.concat(parts)), s.destroy()));
      }),
    );
    const sinkPort = await listen(sink);
    defer(() => sink.close());
    const out = net.connect({ port: sinkPort, host: '127.0.0.1', allowHalfOpen: true });
    defer(() => out.destroy());
    await once(out, 'connect');
    let calls = 0;
    const w = out as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
    const [write, writev] = [w._write.bind(out), w._writev.bind(out)];
    w._write = (...a) => (calls++, write(...a));
    w._writev = (...a) => (calls++, writev(...a));
    const source = tls.connect({ port: tlsPort, host: '127.0.0.1', rejectUnauthorized: false, allowHalfOpen: true });
    defer(() => source.destroy());
    source.pause();
    await once(source, 'secureConnect');
    let records = 0;
    source.on('data', () => records++);
    relay(source, out);
    const got = await received;
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
    expect(records).toBeGreaterThanOrEqual(64); // 1 MB in records of at most 16 KB
    expect(calls).toBeLessThan(records / 2);
  });

  it('a side that stops reading holds the other to the socket buffers, not to what it sends', async () => {
    const { left, right, inner } = await relayedPair();
    const payload = randomBytes(32 * 1024 * 1024);
    right.pause(); // the far end reads nothing
    left.write(payload);
    for (let i = 0; i < 200 && inner[1].writableLength < 1024 * 1024; i++) await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    // The relay stopped reading once its write side was full (without that it held ~29 MB here); what
    // the kernel buffers between the sockets is the system's, so the sender's backlog is not checked.
    expect(inner[1].writableLength).toBeLessThan(4 * 1024 * 1024);
    const parts: Buffer[] = [];
    right.on('data', (c: Buffer) => parts.push(c));
    const ended = once(right, 'end');
    right.resume();
    left.end();
    await ended;
    expect(createHash('sha256').update(Buffer.concat(parts)).digest('hex')).toBe(
      createHash('sha256').update(payload).digest('hex'),
    );
  });
});
