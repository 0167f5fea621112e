import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { INITIAL_WINDOW } from '../../src/mux/frame.js';
import { YamuxSession } from '../../src/mux/session.js';
import type { YamuxStream } from '../../src/mux/stream.js';
import { duplexPair } from '../../src/transport/pair.js';
import { bytesOnTheWire, connected, readAll, settle, setup, sha } from '../helpers/socket-streams.js';

const KB = 1024;
const MB = 1024 * KB;
/** One frame's worth of slack above a window: what a sender may have cut before the window shut. */
const SLACK = 64 * KB + 16 * KB + 4096;

describe('SocketStream receive windows that grow while a stream drains fast', () => {
  it('a stream that drains fast doubles its window, up to maxWindow, and loses nothing', async () => {
    const { visitor, service, accepted } = await connected({ maxWindow: 1 * MB, windowBudget: 64 * MB });
    const data = randomBytes(16 * MB);
    const got = readAll(service);
    visitor.end(data);
    expect(sha(await got)).toBe(sha(data));
    // Without growth the window stays at 256 KB; grown, what is left of it exceeds that.
    expect(accepted.recvWindow).toBeGreaterThan(INITIAL_WINDOW);
    expect(accepted.recvWindow).toBeLessThanOrEqual(1 * MB);
  });

  it('without maxWindow (the default) a window never grows', async () => {
    const { visitor, service, accepted } = await connected();
    const data = randomBytes(4 * MB);
    const got = readAll(service);
    visitor.end(data);
    expect(sha(await got)).toBe(sha(data));
    expect(accepted.recvWindow).toBeLessThanOrEqual(INITIAL_WINDOW);
  });

  it('a receiver that never reads holds the sender to the first window, growth allowed or not', async () => {
    const { visitor, service, opener } = await connected({ maxWindow: 8 * MB, windowBudget: 64 * MB });
    service.pause();
    visitor.write(randomBytes(4 * MB));
    await settle();
    expect(bytesOnTheWire(opener)).toBeLessThan(INITIAL_WINDOW + SLACK);
    visitor.destroy();
  });

  it('a receiver that read fast and then stopped holds the sender to maxWindow', async () => {
    const { visitor, service, opener } = await connected({ maxWindow: 1 * MB, windowBudget: 64 * MB });
    let read = 0;
    service.on('data', (c: Buffer) => {
      read += c.length;
      if (read >= 4 * MB) service.pause(); // the service stops reading here
    });
    visitor.write(randomBytes(12 * MB));
    await settle(200);
    expect(read).toBeGreaterThanOrEqual(4 * MB);
    // What crossed: what the service took, plus at most one grown window still held for it.
    expect(bytesOnTheWire(opener) - read).toBeLessThan(1 * MB + SLACK + 256 * KB);
    visitor.destroy();
  });

  it("growth stops at the session's budget, and a closed stream gives its growth back", async () => {
    // Budget for one doubling (256 KB -> 512 KB) across the session.
    const sessions = setup({ maxWindow: 4 * MB, windowBudget: INITIAL_WINDOW });
    const first = await connected({}, sessions);
    const data = randomBytes(8 * MB);
    let got = readAll(first.service);
    first.visitor.end(data);
    expect(sha(await got)).toBe(sha(data));
    expect(first.accepted.recvWindow).toBeGreaterThan(INITIAL_WINDOW);
    expect(first.accepted.recvWindow).toBeLessThanOrEqual(2 * INITIAL_WINDOW);
    // The first stream still holds the budget: a second one open beside it cannot grow.
    const second = await connected({}, sessions);
    got = readAll(second.service);
    second.visitor.end(data);
    expect(sha(await got)).toBe(sha(data));
    expect(second.accepted.recvWindow).toBeLessThanOrEqual(INITIAL_WINDOW);
    // Closed, the first gives its growth back: a third grows again.
    first.service.end();
    second.service.end();
    await settle();
    const third = await connected({}, sessions);
    got = readAll(third.service);
    third.visitor.end(data);
    expect(sha(await got)).toBe(sha(data));
    expect(third.accepted.recvWindow).toBeGreaterThan(INITIAL_WINDOW);
  });

  it("a Duplex stream (the frp path's kind) grows the same way when its session allows it", async () => {
    const [c, s] = duplexPair();
    const figures = { window: INITIAL_WINDOW, maxWindow: 1 * MB, windowBudget: 64 * MB };
    const opener = new YamuxSession(c, { client: true, accept: false, ...figures });
    const acceptor = new YamuxSession(s, { client: false, accept: true, ...figures });
    const accepted = once(acceptor, 'stream') as Promise<[YamuxStream]>;
    const sender = opener.openStream();
    const data = randomBytes(16 * MB);
    sender.end(data);
    const [receiver] = await accepted;
    const parts: Buffer[] = [];
    receiver.on('data', (b: Buffer) => parts.push(b));
    await once(receiver, 'end');
    expect(sha(Buffer.concat(parts))).toBe(sha(data));
    expect(receiver.recvWindow).toBeGreaterThan(INITIAL_WINDOW);
    expect(receiver.recvWindow).toBeLessThanOrEqual(1 * MB);
    opener.close();
  });
});
