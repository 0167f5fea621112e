import type net from 'node:net';
import type { DataChannel } from './peer.js';

/**
 * One TCP connection carried by one data channel. Binary messages are bytes; text messages are
 * control: `ack <n>` (the peer wrote n more bytes into its socket), `end` (the peer's socket sent
 * FIN: half-close, carried across like the relay does) and `done` (the peer received our `end`).
 *
 * Why credits: a data channel cannot be paused on the receiving side, so without them a slow local
 * reader would make the receiver buffer without bound. The sender keeps at most WINDOW bytes
 * unacknowledged and pauses its socket beyond that; the receiver acknowledges once its socket took
 * the bytes. That bounds memory on both sides and carries TCP backpressure end to end.
 */
export const WINDOW = 4 * 1024 * 1024;
const CHUNK = 64 * 1024;
const ACK_EVERY = WINDOW / 8;

export function bridge(dc: DataChannel, local: net.Socket): void {
  let inflight = 0;
  let unacked = 0;
  let gotEnd = false; // all the peer's bytes arrived
  let gotDone = false; // the peer has all of ours
  let done = false;

  const finish = (abort: boolean) => {
    if (done) return;
    done = true;
    if (abort) local.destroy();
    dc.close();
  };
  // Closing a channel resets its stream; only once both directions are delivered is that safe.
  const maybeDone = () => {
    if (gotEnd && gotDone) finish(false);
  };

  local.on('data', (chunk: Buffer) => {
    if (!dc.isOpen()) return void local.destroy();
    for (let off = 0; off < chunk.length; off += CHUNK) dc.sendMessageBinary(chunk.subarray(off, off + CHUNK));
    inflight += chunk.length;
    if (inflight >= WINDOW) local.pause();
  });
  local.on('end', () => dc.isOpen() && dc.sendMessage('end'));
  local.on('error', () => finish(true));
  local.on('close', () => {
    if (!gotEnd || !local.readableEnded) finish(true);
  });

  dc.onMessage((m) => {
    if (typeof m === 'string') return onControl(m);
    const buf = Buffer.isBuffer(m) ? m : Buffer.from(m);
    local.write(buf, (err) => {
      if (err || !dc.isOpen()) return;
      unacked += buf.length;
      if (unacked >= ACK_EVERY) {
        dc.sendMessage(`ack ${unacked}`);
        unacked = 0;
      }
    });
  });
  dc.onClosed(() => finish(!gotEnd));
  local.resume();

  function onControl(m: string): void {
    if (m === 'end') {
      gotEnd = true;
      local.end();
      if (dc.isOpen()) dc.sendMessage('done');
      return maybeDone();
    }
    if (m === 'done') {
      gotDone = true;
      return maybeDone();
    }
    const n = /^ack (\d{1,12})$/.exec(m);
    if (!n) return finish(true); // a peer that speaks something else is not one of ours
    inflight = Math.max(0, inflight - Number(n[1]));
    if (inflight < WINDOW && local.isPaused()) local.resume();
  }
}
