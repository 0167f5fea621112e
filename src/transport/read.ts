import type { Readable } from 'node:stream';
import { P2prcError } from '../errors.js';
import { DEFAULT_MAX_FRAME_SIZE } from '../protocol/frame.js';
import { decodeMessage, type Message } from '../protocol/messages.js';

export interface ReadExactOptions {
  timeoutMs: number;
  /** Named in the timeout error: "no <what> within N ms". */
  what: string;
  /** The error when the stream ends or fails first (default E_CLOSED). */
  closed?: () => P2prcError;
}

/**
 * Reads exactly n bytes, bounded in time; bytes beyond them stay queued in the stream for the next
 * reader. Works on paused streams (it reads on 'readable'), and leaves the stream paused.
 */
export function readExact(stream: Readable, n: number, o: ReadExactOptions): Promise<Buffer> {
  // At the end of the stream read(n) hands over what is left, even when it is short.
  return readWith(
    stream,
    o,
    () => stream.read(n) as Buffer | null,
    (chunk) => chunk.length === n,
  );
}

/**
 * Reads what has arrived, 1 to `max` bytes, as readExact does otherwise: for a parser that can judge a
 * message from part of it (a TLS record's first bytes) without waiting for all it may announce.
 */
export function readUpTo(stream: Readable, max: number, o: ReadExactOptions): Promise<Buffer> {
  const take = () => (stream.readableLength > 0 ? (stream.read(Math.min(max, stream.readableLength)) as Buffer) : null);
  return readWith(stream, o, take, () => true);
}

/** Waits, bounded in time, until `take` gives a chunk; one that is not `whole`, or the stream's end, is an error. */
function readWith(
  stream: Readable,
  o: ReadExactOptions,
  take: () => Buffer | null,
  whole: (chunk: Buffer) => boolean,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new P2prcError('E_TIMEOUT', `no ${o.what} within ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
    const tryRead = () => {
      const chunk = take();
      if (chunk) finish(whole(chunk) ? undefined : (o.closed?.() ?? closedError()), chunk);
    };
    const closedError = () => new P2prcError('E_CLOSED', `closed before the ${o.what}`);
    const onEnd = () => finish(o.closed?.() ?? closedError());
    function finish(err?: Error, data?: Buffer) {
      clearTimeout(timer);
      stream.off('readable', tryRead);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onEnd);
      if (err) reject(err);
      else resolve(data!);
    }
    stream.on('readable', tryRead);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onEnd);
    tryRead();
  });
}

/** The first byte of a fresh connection, left in the stream for whoever takes it next. */
export async function peekByte(stream: Readable, timeoutMs: number): Promise<number> {
  const first = await readExact(stream, 1, {
    timeoutMs,
    what: 'bytes',
    closed: () => new P2prcError('E_CLOSED', 'closed before sending anything'),
  });
  stream.unshift(first);
  return first[0]!;
}

/** One p2prc frame off a stream, decoded; the length is checked before its bytes are read. */
export async function readMessage(
  stream: Readable,
  timeoutMs: number,
  maxFrameSize = DEFAULT_MAX_FRAME_SIZE,
): Promise<Message> {
  const head = await readExact(stream, 4, { timeoutMs, what: 'frame header' });
  const length = head.readUInt32BE(0);
  if (length < 1 || length > maxFrameSize)
    throw new P2prcError('E_PROTOCOL', `frame of ${length} bytes outside 1..${maxFrameSize}`);
  const body = await readExact(stream, length, { timeoutMs, what: 'frame' });
  return decodeMessage({ type: body[0]!, payload: body.subarray(1) });
}
