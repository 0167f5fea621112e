import { describe, expect, it } from 'vitest';
import { BindReader } from '../../src/client/bind-reader.js';
import { YamuxSession } from '../../src/mux/session.js';
import type { SocketStream } from '../../src/mux/socket-stream.js';
import { encodeMessage, type Messages } from '../../src/protocol/messages.js';
import { duplexPair } from '../../src/transport/pair.js';
import { until } from '../helpers/engine.js';

/** A host-side session opening streams, and the client side reading each one's Bind. */
function setup(timeoutMs = 5_000) {
  const [c, s] = duplexPair();
  const host = new YamuxSession(c, { client: true, accept: false });
  const client = new YamuxSession(s, { client: false, accept: true, acceptSocketStreams: true });
  const bound: { stream: SocketStream; bind: Messages['Bind']; rest: Buffer }[] = [];
  const accepted: SocketStream[] = [];
  const reader = new BindReader(timeoutMs, (stream, bind, rest) => bound.push({ stream, bind, rest }));
  client.on('socketStream', (st) => (accepted.push(st), reader.add(st)));
  return { host, bound, accepted, reader };
}

describe('BindReader: the Bind off the front of a stream', () => {
  it('hands over the Bind and the bytes after it, also when the Bind arrives in pieces', async () => {
    const { host, bound } = setup();
    const frame = encodeMessage('Bind', { tunnelId: 't1', visitorId: 7, remote: '127.0.0.1:5' });
    const opened = host.openSocketStream();
    opened.write(frame.subarray(0, 3));
    await new Promise((r) => setTimeout(r, 20));
    opened.write(Buffer.concat([frame.subarray(3), Buffer.from('GET /')]));
    await until(() => bound.length === 1);
    expect(bound[0]!.bind).toEqual({ tunnelId: 't1', visitorId: 7, remote: '127.0.0.1:5' });
    expect(bound[0]!.rest.toString()).toBe('GET /');
  });

  it('drops a stream whose first frame claims more than a Bind, or is not a Bind', async () => {
    const { host, bound, accepted } = setup();
    const big = Buffer.alloc(8);
    big.writeUInt32BE(1 << 20, 0);
    host.openSocketStream().write(big);
    host.openSocketStream().write(encodeMessage('Ping', { t: 1 }));
    await until(() => accepted.length === 2 && accepted.every((s) => s.destroyed));
    expect(bound).toHaveLength(0);
  });

  it('drops a stream whose Bind does not come within the timeout', async () => {
    const { host, accepted, bound } = setup(100);
    host.openSocketStream().write(Buffer.from([0, 0]));
    await until(() => accepted.length === 1 && accepted[0]!.destroyed, 5_000);
    expect(bound).toHaveLength(0);
  });
});
