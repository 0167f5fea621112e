// CI: the package as users get it. Packs the repo (prepack builds dist/), installs the tarball into an
// empty prefix, and runs `p2prc --help`, then a host and a client from that install on loopback.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'p2prc-pack-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const children = [];

/** Starts the installed p2prc; resolves with the first stdout line matching, within 30 s. */
function start(bin, args, test) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no matching line from p2prc ${args.join(' ')} within 30 s`)),
      30_000,
    );
    child.on('exit', (code) => reject(new Error(`p2prc ${args.join(' ')} exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!test(line)) return;
      clearTimeout(timer);
      resolve(line);
    });
  });
}

try {
  execFileSync(npm, ['pack', '--pack-destination', tmp], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const tarball = path.join(
    tmp,
    readdirSync(tmp).find((f) => f.endsWith('.tgz')),
  );
  const prefix = path.join(tmp, 'prefix');
  execFileSync(npm, ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', tarball], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const bin = path.join(prefix, 'bin', 'p2prc');
  const help = execFileSync(bin, ['--help'], { encoding: 'utf8' });
  if (!help.includes('Usage:')) throw new Error(`p2prc --help printed no usage:\n${help}`);
  const config = path.join(tmp, 'config');
  const hostLine = await start(
    bin,
    [
      '-s',
      '--reverse-proxy',
      '--bind',
      '127.0.0.1',
      '--control-port',
      '0',
      '--port',
      '0',
      '--json',
      '--config-dir',
      config,
    ],
    (l) => l.includes('"host-started"'),
  );
  const { port } = JSON.parse(hostLine);
  const published = await start(
    bin,
    ['-s', '--connect-reverse-proxy', `127.0.0.1:${port}`, '--config-dir', config],
    (l) => l.startsWith('Published:'),
  );
  console.log(`pack smoke: ${path.basename(tarball)} installed; --help ok; host on ${port}; ${published}`);
} finally {
  for (const c of children) {
    c.removeAllListeners('exit');
    c.kill('SIGKILL');
  }
  rmSync(tmp, { recursive: true, force: true });
}
