import https from 'node:https';
import { execFile, execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { generateSelfSignedCert } from '../../src/transport/cert.js';
import { startCli } from '../helpers/cli.js';
import { listen } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

// TLS published by name through the built CLI, as a user checks it: curl to the host's HTTPS vhost port.
const { tempDir, defer } = useWorkspace();

const curl = (() => {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('--vhost-https-port with --expose https:PORT@DOMAIN (built CLI)', () => {
  const title = 'curl reaches the local service by name and sees its own certificate';
  it.skipIf(!curl)(curl ? title : `${title} (skipped: no curl on PATH)`, async () => {
    const cert = generateSelfSignedCert('app.test');
    const local = https.createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) =>
      res.end(`local service, ${req.headers.host}`),
    );
    defer(() => local.closeAllConnections());
    const localPort = await listen(local);

    const host = startCli([
      '-s',
      '--reverse-proxy',
      '--bind',
      '127.0.0.1',
      '--control-port',
      '0',
      '--port',
      '0',
      '--token',
      'tok',
      '--vhost-https-port',
      '0',
      '--json',
      '--config-dir',
      tempDir('https-host'),
    ]);
    const { port } = JSON.parse(await host.waitFor((l) => l.includes('"host-started"'))) as { port: number };
    const client = startCli([
      '-s',
      '--connect-reverse-proxy',
      `127.0.0.1:${port}`,
      '--token',
      'tok',
      '--port',
      '0',
      '--config-dir',
      tempDir('https-client'),
      '--expose',
      `https:${localPort}@app.test`,
    ]);
    const published = await client.waitFor((l) => l.startsWith('Published: https://app.test:'));
    const vport = Number(/^Published: https:\/\/app\.test:(\d+) /.exec(published)![1]);

    // -k: the certificate is self-signed; --pinnedpubkey still makes curl refuse any key but the local service's.
    const spki = new X509Certificate(cert.certPem).publicKey.export({ type: 'spki', format: 'der' });
    const pin = `sha256//${createHash('sha256').update(spki).digest('base64')}`;
    const url = `https://app.test:${vport}/`;
    const args = ['-sS', '-k', '--max-time', '10', '--resolve', `app.test:${vport}:127.0.0.1`, '--pinnedpubkey', pin];
    const { stdout } = await promisify(execFile)('curl', [...args, url]);
    expect(stdout).toBe(`local service, app.test:${vport}`);

    // Another name on the same port is closed, not answered by anyone's certificate.
    const other = await promisify(execFile)('curl', [
      '-sS',
      '-k',
      '--max-time',
      '10',
      '--resolve',
      `other.test:${vport}:127.0.0.1`,
      `https://other.test:${vport}/`,
    ]).then(
      () => 0,
      (err: { code?: number }) => err.code,
    );
    expect(other).toBe(35); // CURLE_SSL_CONNECT_ERROR: the connection closed during the TLS handshake
  });
});
