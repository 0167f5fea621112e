import type { Duplex } from 'node:stream';
import { BULK_CHUNK, heapTrimRaised, raiseHeapTrimThreshold } from './heap-trim.js';

/**
 * Pipes two sockets into each other, raw, with half-close carried across (one side's FIN ends the
 * other's writable) and backpressure from .pipe(). Lighter than stream.pipeline per connection,
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
  a.pipe(b);
  b.pipe(a);
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
