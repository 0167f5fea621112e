// Bench target: "sink" (reads a u64 length header, discards that many bytes, replies one byte),
// "echo", or "http" (a keep-alive HTTP server answering 1 KB). Reports its port over IPC.
import net from 'node:net';
import http from 'node:http';

const kind = process.argv[2];
let server;
if (kind === 'http') {
  const body = Buffer.alloc(1024, 'x'); // 1 KB responses, as in the wrk figures
  server = http.createServer((req, res) => res.end(body));
  server.keepAliveTimeout = 30_000;
} else {
  server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.setNoDelay(true);
    s.on('error', () => s.destroy());
    if (kind === 'echo') return void s.pipe(s);
    let expected = -1;
    let got = 0;
    let head = Buffer.alloc(0);
    s.on('data', (chunk) => {
      if (expected < 0) {
        head = Buffer.concat([head, chunk]);
        if (head.length < 8) return;
        expected = Number(head.readBigUInt64BE(0));
        got = head.length - 8;
      } else got += chunk.length;
      if (got >= expected && expected >= 0) {
        expected = Number.POSITIVE_INFINITY;
        s.end('k');
      }
    });
  });
}
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
