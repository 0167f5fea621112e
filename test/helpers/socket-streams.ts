import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { YamuxSession, type YamuxOptions } from '../../src/mux/session.js';
import type { SocketStream } from '../../src/mux/socket-stream.js';
import { INITIAL_WINDOW } from '../../src/mux/frame.js';
import { duplexPair, type PairEnd } from '../../src/transport/pair.js';
import { until } from './engine.js';

/** Session options the tests vary; both sessions get the window figures, the opener maxBuffered. */
export type SessionFigures = Pick<YamuxOptions, 'window' | 'maxBuffered' | 'maxWindow' | 'windowBudget'>;

/**
 * Two sessions over an in-memory connection (no kernel buffers, so flow control is what bounds the
 * bytes in flight), the opener's streams and the acceptor's both wired to sockets with `attach`.
 * Each "socket" is one end of an in-memory pair; the test holds the other end, as a visitor would.
 */
export function setup(o: SessionFigures = {}) {
  const window = o.window ?? INITIAL_WINDOW;
  const figures = { window, maxWindow: o.maxWindow, windowBudget: o.windowBudget };
  const [c, s] = duplexPair();
  const opener = new YamuxSession(c, { client: true, accept: false, maxBuffered: o.maxBuffered, ...figures });
  const acceptor = new YamuxSession(s, { client: false, accept: true, acceptSocketStreams: true, ...figures });
  const accepted: SocketStream[] = [];
  acceptor.on('socketStream', (st) => accepted.push(st));
  return { opener, acceptor, accepted };
}

/** A stream opened and attached on both sides; returns the two far ends (visitor, service). */
export async function connected(o: SessionFigures = {}, sessions = setup(o)) {
  const { opener, acceptor, accepted } = sessions;
  const [visitorNear, visitor] = duplexPair();
  const [serviceNear, service] = duplexPair();
  const opened = opener.openSocketStream();
  const n = accepted.length;
  opened.write(Buffer.from('HEAD'));
  opened.attach(visitorNear);
  await until(() => accepted.length === n + 1 && accepted[n]!.earlyLength >= 4);
  const head = accepted[n]!.takeEarly();
  expect(head.subarray(0, 4).toString()).toBe('HEAD');
  accepted[n]!.attach(serviceNear, head.subarray(4));
  return { visitor, service, opened, accepted: accepted[n]!, opener, acceptor };
}

export const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export async function readAll(s: PairEnd): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (c: Buffer) => parts.push(c));
  await once(s, 'end');
  return Buffer.concat(parts);
}

/** Bytes the opener's session has written to its connection so far (frames and their headers). */
export function bytesOnTheWire(opener: YamuxSession): number {
  return (opener as unknown as { conn: PairEnd }).conn.bytesWritten;
}

/** Lets every frame the windows allow cross: a bounded number of event-loop turns. */
export async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}
