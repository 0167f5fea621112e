import net from 'node:net';
import { once } from 'node:events';

const CHUNK = Buffer.alloc(256 * 1024, 7);

/** Sends `bytes` through `port` on one connection to the sink; resolves when the sink confirms receipt. */
async function sendOne(port, bytes) {
  const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await once(s, 'connect');
  const head = Buffer.alloc(8);
  head.writeBigUInt64BE(BigInt(bytes));
  s.write(head);
  const acked = once(s, 'data');
  let left = bytes;
  while (left > 0) {
    const n = Math.min(left, CHUNK.length);
    left -= n;
    if (!s.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) await once(s, 'drain');
  }
  await acked;
  s.destroy();
}

/** MB/s for `total` bytes split over `connections` parallel connections. */
export async function bulk(port, total, connections) {
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, () => sendOne(port, Math.floor(total / connections))));
  return total / 1e6 / ((performance.now() - started) / 1000);
}

/** Time to first byte of new connections to an echo service, sequentially: p50 and p99 in ms. */
export async function ttfb(port, count) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
    s.on('error', () => undefined);
    await once(s, 'connect');
    s.write('x');
    await once(s, 'data');
    times.push(performance.now() - started);
    s.destroy();
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(count * 0.5)], p99: times[Math.min(count - 1, Math.floor(count * 0.99))] };
}

/** Opens `count` connections to an echo service and keeps them; each proves itself with one echo. */
export async function openMany(port, count, batch = 200) {
  const sockets = [];
  let served = 0;
  let failed = 0;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, async () => {
        const s = net.connect({ port, host: '127.0.0.1' });
        sockets.push(s);
        s.on('error', () => undefined);
        try {
          await once(s, 'connect');
          s.write('p');
          await Promise.race([
            once(s, 'data'),
            new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 20_000)),
          ]);
          served++;
        } catch {
          failed++;
        }
      }),
    );
  }
  return { sockets, served, failed, close: () => sockets.forEach((s) => s.destroy()) };
}
