import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { Flag, FrameType, INITIAL_WINDOW, encodeHeader } from '../../src/mux/frame.js';
import { YamuxSession } from '../../src/mux/session.js';
import type { SocketStream } from '../../src/mux/socket-stream.js';
import { duplexPair, type PairEnd } from '../../src/transport/pair.js';
import { until } from '../helpers/engine.js';
import { connected, readAll, setup, sha } from '../helpers/socket-streams.js';

describe('SocketStream: a yamux stream wired straight to a socket', () => {
  it('carries bytes both ways in order, and a half-close one way leaves the other open', async () => {
    const { visitor, service } = await connected();
    const up = randomBytes(300_000);
    const down = randomBytes(200_000);
    const gotUp = readAll(service);
    visitor.end(up); // the visitor is done sending; it still reads the answer
    expect(sha(await gotUp)).toBe(sha(up));
    const gotDown = readAll(visitor);
    service.end(down);
    expect(sha(await gotDown)).toBe(sha(down));
  });

  it('bytes that arrive before attach are delivered first, then the rest, in order', async () => {
    const { opener, acceptor, accepted } = setup();
    const [visitorNear, visitor] = duplexPair();
    const opened = opener.openSocketStream();
    opened.attach(visitorNear);
    visitor.write(Buffer.from('early-1 '));
    visitor.write(Buffer.from('early-2 '));
    await until(() => accepted.length === 1 && accepted[0]!.earlyLength === 16);
    const [serviceNear, service] = duplexPair();
    accepted[0]!.attach(serviceNear, accepted[0]!.takeEarly().subarray(5)); // the owner used 5 bytes ('early')
    visitor.end(Buffer.from('late'));
    expect((await readAll(service)).toString()).toBe('-1 early-2 late');
    acceptor.close();
  });

  it('a receiver that does not read holds the sender to the window, and loses nothing once it reads', async () => {
    const { visitor, service, opener } = await connected();
    const data = randomBytes(4 * 1024 * 1024);
    service.pause();
    visitor.write(data);
    const conn = (opener as unknown as { conn: PairEnd }).conn;
    // Let every frame the window allows cross; nothing reads at the far end.
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    const sentBytes = conn.bytesWritten;
    expect(sentBytes).toBeGreaterThan(INITIAL_WINDOW / 2);
    // One window (plus frame headers) past what the receiver's socket took: not the 4 MB.
    expect(sentBytes).toBeLessThan(INITIAL_WINDOW + 64 * 1024 + 16 * 1024 + 4096);
    const got = readAll(service);
    service.resume();
    visitor.end();
    expect(sha(await got)).toBe(sha(data));
  });

  it('a socket destroyed on one side resets the stream, and the other side socket is destroyed', async () => {
    const { visitor, service, opened, accepted } = await connected();
    const closed = once(service, 'close');
    visitor.destroy();
    await closed;
    expect(opened.destroyed).toBe(true);
    await until(() => accepted.destroyed);
  });

  it('the session going away destroys every attached socket', async () => {
    const { visitor, service, opener } = await connected();
    const closed = Promise.all([once(visitor, 'close'), once(service, 'close')]);
    opener.close();
    await closed;
  });

  it('a stream reset before its socket is attached destroys the socket on attach', async () => {
    const { opener, accepted } = setup();
    const opened = opener.openSocketStream();
    opened.write(Buffer.from('x'));
    await until(() => accepted.length === 1 && accepted[0]!.earlyLength === 1);
    opened.destroy();
    await until(() => accepted[0]!.destroyed);
    const [near] = duplexPair();
    accepted[0]!.attach(near);
    expect(near.destroyed).toBe(true);
  });

  it('a peer that stops reading its connection holds this side to maxBuffered, not to the sum of the windows', async () => {
    const maxBuffered = 128 * 1024;
    const { opener, acceptor, accepted } = setup({ maxBuffered });
    const conn = (opener as unknown as { conn: PairEnd }).conn;
    const acceptorConn = (acceptor as unknown as { conn: PairEnd }).conn;
    const visitors: PairEnd[] = [];
    const sent: Buffer[] = [];
    for (let i = 0; i < 4; i++) {
      const [near, far] = duplexPair();
      opener.openSocketStream().attach(near);
      visitors.push(far);
    }
    await until(() => accepted.length === 4);
    const services = accepted.map((st) => {
      const [near, far] = duplexPair();
      st.attach(near);
      return far;
    });
    const got = services.map((svc) => readAll(svc));
    acceptorConn.pause(); // the peer stops reading its connection
    for (const v of visitors) {
      const data = randomBytes(1024 * 1024);
      sent.push(data);
      // In 64 KB pieces, as a socket reads them.
      for (let off = 0; off < data.length; off += 64 * 1024) v.write(data.subarray(off, off + 64 * 1024));
      v.end();
    }
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    // Four streams of 256 KB windows would let 1 MB pile up; the cap holds it near 128 KB plus what
    // one read of each socket adds before its pause.
    expect(conn.writableLength).toBeGreaterThan(0);
    expect(conn.writableLength).toBeLessThan(maxBuffered + 4 * 64 * 1024 + 4096);
    acceptorConn.resume();
    const received = await Promise.all(got);
    received.forEach((b, i) => expect(sha(b)).toBe(sha(sent[i]!)));
  });

  it('a socket that is already gone when attached ends the stream at once, and the peer hears of it', async () => {
    const { opener, accepted } = setup();
    const [peerNear, peer] = duplexPair();
    const opened = opener.openSocketStream();
    opened.write(Buffer.from('x'));
    opened.attach(peerNear);
    await until(() => accepted.length === 1 && accepted[0]!.earlyLength === 1);
    const [gone] = duplexPair();
    gone.destroy();
    await once(gone, 'close');
    const closed = once(peer, 'close');
    accepted[0]!.attach(gone);
    expect(accepted[0]!.destroyed).toBe(true);
    await closed; // the reset reached the opener, which destroyed its socket
  });

  it('bytes held back by the window still go, then the FIN, when the socket closes after both its ends', async () => {
    const { opener, accepted } = setup();
    const [visitorNear] = duplexPair();
    const [serviceNear, service] = duplexPair();
    const up = randomBytes(400_000);
    // The visitor's whole upload and its FIN already wait in its socket: more than one window.
    visitorNear.push(up);
    visitorNear.push(null);
    opener.openSocketStream().attach(visitorNear);
    await until(() => accepted.length === 1);
    service.pause(); // the service does not read yet: the window shuts with bytes still held
    accepted[0]!.attach(serviceNear);
    await until(() => (service as unknown as { readableLength: number }).readableLength > 0);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    // The service ends its side before reading: its FIN reaches the visitor's socket, which then has
    // both ends done and closes, while 144 KB of its upload still wait for window.
    service.end(Buffer.from('bye'));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(service.destroyed).toBe(false); // no reset reached it
    const parts: Buffer[] = [];
    service.on('data', (c: Buffer) => parts.push(c));
    service.resume();
    const ended = await Promise.race([
      once(service, 'end').then(() => 'end'),
      once(service, 'close').then(() => 'close'),
    ]);
    expect(ended).toBe('end'); // not a reset
    expect(sha(Buffer.concat(parts))).toBe(sha(up));
  });

  it('the pieces of a data frame that arrive in one poll phase reach a real socket in one writev', async () => {
    // TLS hands a connection's bytes on in 16 KB records, each its own 'data' event: written one by one,
    // each piece cost the receiving hop a syscall. Here a 64 KB frame body arrives in four such pieces.
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    const service = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await once(service, 'connect');
    const [far] = (await accepted) as [net.Socket];
    const got = new Promise<Buffer>((resolve) => {
      const parts: Buffer[] = [];
      far.on('data', (c: Buffer) => {
        parts.push(c);
        if (Buffer.concat(parts).length === body.length + 4) resolve(Buffer.concat(parts));
      });
    });
    const writes: number[] = []; // pieces per call the socket's writer makes: 1 for _write
    const socket = service as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
    const write = socket._write.bind(service);
    const writev = socket._writev.bind(service);
    socket._write = (...a) => (writes.push(1), write(...a));
    socket._writev = (chunks, cb) => (writes.push((chunks as unknown[]).length), writev(chunks, cb));

    const [conn, peer] = duplexPair();
    const session = new YamuxSession(conn, { client: false, accept: true, acceptSocketStreams: true });
    session.on('socketStream', (st: SocketStream) => st.attach(service));
    const body = randomBytes(64 * 1024);
    peer.write(encodeHeader(FrameType.Data, Flag.SYN, 1, 0));
    await until(() => session.streamCount === 1);
    peer.write(encodeHeader(FrameType.Data, 0, 1, body.length));
    for (let off = 0; off < body.length; off += 16 * 1024) peer.write(body.subarray(off, off + 16 * 1024));
    peer.write(encodeHeader(FrameType.Data, 0, 1, 4)); // a small frame after them: it joins the same batch
    peer.write(Buffer.from('tail'));
    const all = await got;
    expect(sha(all)).toBe(sha(Buffer.concat([body, Buffer.from('tail')])));
    expect(writes).toEqual([5]);
    session.close();
    far.destroy();
    server.close();
  });
});
