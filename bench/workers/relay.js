// One hop of a plain Node relay: accept, connect onward, pipe both ways. Two of these in a chain are
// the practical ceiling for a relay written in Node (the same hop count as host -> client).
// `tls-out` / `tls-in`: the hop between the two speaks TLS (Node's defaults with p2prc's suite order,
// AES-128-GCM first, as p2prc's own TLS uses), which makes the pair the ceiling for an encrypted relay in Node.
import net from 'node:net';
import tls from 'node:tls';
import { pipeline } from 'node:stream';
import { sourceModuleUrl } from '../../scripts/source-module.js';

const { generateSelfSignedCert, tlsCiphers } = await import(sourceModuleUrl('transport/cert.ts', 'transport/net.ts'));

const target = Number(process.argv[2]);
const mode = process.argv[3] ?? 'plain';
const cert = mode === 'tls-in' ? generateSelfSignedCert('bench-relay') : undefined;
const onward = () =>
  mode === 'tls-out'
    ? tls.connect({
        port: target,
        host: '127.0.0.1',
        rejectUnauthorized: false,
        allowHalfOpen: true,
        noDelay: true,
        ciphers: tlsCiphers(),
      })
    : net.connect({ port: target, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
const relay = (a) => {
  const b = onward();
  pipeline(a, b, a, () => (a.destroy(), b.destroy()));
};
const server = cert
  ? tls.createServer(
      { key: cert.keyPem, cert: cert.certPem, ciphers: tlsCiphers(), allowHalfOpen: true, noDelay: true },
      relay,
    )
  : net.createServer({ allowHalfOpen: true, noDelay: true }, relay);
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
