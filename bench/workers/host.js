// p2prc host for the bench: reports its port, token and fingerprint over IPC.
import { startHost } from '../../dist/index.js';

const tls = process.argv[2] === 'tls';
const h = await startHost({ controlPort: 0, bind: '127.0.0.1', tls, maxClients: 100_000, maxTunnelsPerClient: 64 });
process.send({ port: h.port, token: h.token, fingerprint: h.fingerprint ?? null });
process.on('message', (m) => m === 'rss' && process.send({ rss: process.memoryUsage().rss }));
