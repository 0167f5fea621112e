// npm run demo: a host on 127.0.0.1, a client publishing a small HTTP service through it,
// the public address printed and fetched once through the tunnel. Uses the built CLI, as a user would.
import { spawn, execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const cli = path.join(import.meta.dirname, '..', 'bin', 'p2prc.js');
const configDir = mkdtempSync(path.join(os.tmpdir(), 'p2prc-demo-'));
const children = [];

function start(args, label) {
  const child = spawn(process.execPath, [cli, ...args, '--config-dir', configDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  createInterface({ input: child.stderr }).on('line', (l) => console.log(`  [${label}] ${l}`));
  return child;
}

function waitForLine(child, label, test, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: no expected output within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => reject(new Error(`${label} exited early with code ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      console.log(`  [${label}] ${line}`);
      if (test(line)) {
        clearTimeout(timer);
        resolve(line);
      }
    });
  });
}

async function stop(child) {
  if (child.exitCode !== null) return;
  child.kill('SIGINT');
  await once(child, 'exit');
}

const service = http.createServer((req, res) => res.end(`hello from behind the NAT (you asked for ${req.url})\n`));
service.listen(0, '127.0.0.1');
await once(service, 'listening');
const servicePort = service.address().port;
let failed = false;
try {
  console.log(`1. local HTTP service on 127.0.0.1:${servicePort}`);
  console.log('2. starting the reverse-proxy host on 127.0.0.1 (TLS, generated token)');
  const host = start(
    ['-s', '--reverse-proxy', '--bind', '127.0.0.1', '--control-port', '0', '--port', '0', '--json'],
    'host',
  );
  const started = JSON.parse(await waitForLine(host, 'host', (l) => l.includes('"host-started"')));
  console.log(`3. connecting a client to 127.0.0.1:${started.port} and publishing port ${servicePort}`);
  const client = start(
    ['-s', '--connect-reverse-proxy', `127.0.0.1:${started.port}`, '--expose', String(servicePort)],
    'client',
  );
  const lines = [];
  await waitForLine(client, 'client', (l) => l.startsWith('Published:') && lines.push(l) === 2);
  const exposed = lines
    .map((l) => /^Published: (\S+) -> 127\.0\.0\.1:(\d+)(?: \(.*\))?$/.exec(l))
    .find((m) => m && Number(m[2]) === servicePort);
  const publicAddress = exposed[1];
  console.log(`4. fetching http://${publicAddress}/demo through the tunnel`);
  const body = await (await fetch(`http://${publicAddress}/demo`)).text();
  console.log(`   -> ${body.trim()}`);
  const node = lines.find((l) => l !== exposed[0]).split(' ')[1];
  const table = await (await fetch(`http://${node}/ip_table`)).json();
  console.log(
    `   node server's IP table through the proxy: IPV4=${table.ip_address[0].IPV4} ServerPort=${table.ip_address[0].ServerPort} NAT=${table.ip_address[0].NAT}`,
  );
  console.log('5. records:');
  console.log(execFileSync(process.execPath, [cli, '--view-rps', '--config-dir', configDir], { encoding: 'utf8' }));
  console.log(execFileSync(process.execPath, [cli, '--view-rpm', '--config-dir', configDir], { encoding: 'utf8' }));
  await stop(client);
  await stop(host);
  console.log('Demo finished: the service was reached through the tunnel.');
} catch (err) {
  failed = true;
  console.error(`demo failed: ${err.message}`);
} finally {
  await Promise.all(children.map(stop));
  service.close();
  rmSync(configDir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
