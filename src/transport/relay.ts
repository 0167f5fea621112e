import type { Duplex } from 'node:stream';
import { BULK_CHUNK, heapTrimRaised, raiseHeapTrimThreshold } from './heap-trim.js';

/** Chunks this large are written in a batch per poll phase (see pump). */
const BATCH_MIN = 4 * 1024;

/**
 * Pipes two sockets into each other, raw, with half-close carried across (one side's FIN ends the
 * other's writable) and backpressure as .pipe() has it. Lighter than stream.pipeline per connection,
 * which matters at thousands of connections. Either side failing or closing takes the other down,
 * after letting what it was already sent drain.
 */
export function relay(a: Duplex, b: Duplex, onDone?: () => void): void {
  if (!heapTrimRaised()) watchForBulk(a, b);
  let done = false;
  const finish = (err?: Error) => {
    if (done) return;
    done = true;
    if (err) {
      a.destroy();
      b.destroy();
    } else {
      endSoon(a);
      endSoon(b);
    }
    onDone?.();
  };
  a.on('error', finish);
  b.on('error', finish);
  a.once('close', () => finish());
  b.once('close', () => finish());
  pump(a, b);
  pump(b, a);
}

/**
 * What .pipe() does, but the large chunks of one poll phase leave in one writev: a TLS socket hands
 * its bytes on a 16 KB record at a time, each its own 'data', and each was a write syscall. While the
 * destination is corked its write() says "full" early (16 KB), so backpressure is judged when the batch
 * leaves, not per chunk; the batch is bounded by what the source reads in one phase.
 */
function pump(src: Duplex, dst: Duplex): void {
  const batches = canBatch(dst);
  let corked = false;
  let waiting = false;
  const resume = (): void => {
    waiting = false;
    src.resume();
  };
  const wait = (): void => {
    if (waiting || dst.destroyed) return;
    waiting = true;
    src.pause();
    dst.once('drain', resume);
  };
  const flush = (): void => {
    corked = false;
    dst.uncork();
    // A batch the kernel took at once leaves nothing queued: no pause, though 'drain' is still to come.
    if (dst.writableLength >= dst.writableHighWaterMark) wait();
  };
  src.on('data', (chunk: Buffer) => {
    if (dst.destroyed || dst.writableEnded) return;
    if (batches && chunk.length >= BATCH_MIN && !corked) {
      corked = true;
      dst.cork();
      setImmediate(flush);
    }
    if (!dst.write(chunk) && !corked) wait();
  });
  const endDst = (): void => {
    if (!dst.destroyed && !dst.writableEnded) dst.end(); // end() also sends what a batch still holds
  };
  if (src.readableEnded) process.nextTick(endDst);
  else src.once('end', endDst);
  src.resume(); // as pipe() does: a source handed over paused flows from here
}

/**
 * Only a writer that takes several chunks in one call gains from a batch (a socket's writev). One that
 * writes chunk by chunk (an in-memory pair, a multiplexed stream, which batches its own frames) would
 * only see them a poll phase later.
 */
function canBatch(dst: Duplex): boolean {
  return typeof (dst as { _writev?: unknown })._writev === 'function';
}

/** Raises glibc's trim threshold at the first large read: short exchanges leave the process as it was. */
function watchForBulk(a: Duplex, b: Duplex): void {
  const watch = (chunk: Buffer): void => {
    if (chunk.length < BULK_CHUNK) return;
    raiseHeapTrimThreshold();
    a.off('data', watch);
    b.off('data', watch);
  };
  a.on('data', watch);
  b.on('data', watch);
}

function endSoon(s: Duplex): void {
  if (s.destroyed) return;
  // Flush what was queued, then go; never linger past a bound if the peer stops reading.
  s.end();
  const timer = setTimeout(() => s.destroy(), 30_000);
  timer.unref();
  s.once('close', () => clearTimeout(timer));
}
