import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { killAll, parsePublished, runCli, startCli } from '../helpers/cli.js';
import { FRP_DIR, FRP_SKIP } from '../helpers/frp.js';
import { freePort, udpEchoServer, echoExact, echoServer, sha256, until } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir, track } = useWorkspace();

/** A stock frps 0.31.2; resolves once it logs that it started. */
async function stockFrps(dir: string, port: number, tcpMux: boolean, extra = ''): Promise<ChildProcess> {
  const ini = path.join(dir, 'frps.ini');
  await writeFile(
    ini,
    `[common]\nbind_addr = 127.0.0.1\nbind_port = ${port}\ntoken = wire-token\ntcp_mux = ${tcpMux}\nlog_file = console\n${extra}`,
  );
  const p = track(spawn(path.join(FRP_DIR, 'frps'), ['-c', ini], { stdio: ['ignore', 'pipe', 'ignore'] }));
  await new Promise<void>((resolve, reject) => {
    p.stdout!.on('data', (d: Buffer) => d.toString().includes('start frps success') && resolve());
    p.once('exit', () => reject(new Error('frps exited')));
  });
  return p;
}

describe.skipIf(!!FRP_SKIP)(
  `native frp-wire client against a stock frps 0.31.2${FRP_SKIP ? ` — skipped: ${FRP_SKIP}` : ''}`,
  () => {
    it.each([true, false])(
      'tcp_mux=%s: publishes, 16 MiB byte-identical, 100 concurrent, frps restart keeps the port',
      async (tcpMux) => {
        const dir = tempDir('wire');
        const port = await freePort();
        let frps = await stockFrps(dir, port, tcpMux);
        const echo = await echoServer();
        const client = startCli([
          '-s',
          '--connect-reverse-proxy',
          `127.0.0.1:${port}`,
          '--protocol',
          'frp',
          ...(tcpMux ? [] : ['--no-tcp-mux']),
          '--token',
          'wire-token',
          '--expose',
          String(echo),
          '--config-dir',
          dir,
        ]);
        const pub = parsePublished(await client.waitFor((l) => l.includes(`-> 127.0.0.1:${echo} (`)));
        const payload = randomBytes(16 * 1024 * 1024);
        expect(await echoExact(pub.port, payload)).toBe(sha256(payload));
        const all = await Promise.all(
          Array.from({ length: 100 }, (_, i) => echoExact(pub.port, Buffer.from(`visitor-${i}-`.repeat(20)))),
        );
        all.forEach((h, i) => expect(h).toBe(sha256(Buffer.from(`visitor-${i}-`.repeat(20)))));
        const rpm = JSON.parse((await runCli(['--view-rpm', '--json', '--config-dir', dir])).stdout) as {
          mappings: Array<{ engine: string }>;
        };
        expect(rpm.mappings.every((m) => m.engine === 'frp-wire')).toBe(true);
        frps.kill('SIGKILL');
        await once(frps, 'exit');
        await client.waitFor((l) => l.includes('connection to frps lost'), 20_000, 'stderr');
        const states = async () =>
          (
            JSON.parse((await runCli(['--view-rpm', '--json', '--config-dir', dir])).stdout) as {
              mappings: Array<{ state: string }>;
            }
          ).mappings.map((m) => m.state);
        await until(
          async () => (await states()).every((s) => s === 'reconnecting'),
          20_000,
          '--view-rpm showing reconnecting',
        );
        frps = await stockFrps(dir, port, tcpMux);
        await until(
          async () =>
            (await echoExact(pub.port, Buffer.from('back'), 2_000).catch(() => '')) === sha256(Buffer.from('back')),
          60_000,
          'reconnect to the restarted frps',
        );
        await until(
          async () => (await states()).every((s) => s === 'active'),
          20_000,
          '--view-rpm showing active again',
        );
      },
      120_000,
    );

    it('a frps that takes TLS only (tls_only) is reached over TLS by default, no flag needed', async () => {
      const dir = tempDir('wire');
      const port = await freePort();
      await stockFrps(dir, port, true, 'tls_only = true\n');
      const echo = await echoServer();
      const client = startCli([
        '-s',
        '--connect-reverse-proxy',
        `127.0.0.1:${port}`,
        '--protocol',
        'frp',
        '--token',
        'wire-token',
        '--expose',
        String(echo),
        '--config-dir',
        dir,
      ]);
      const pub = parsePublished(await client.waitFor((l) => l.includes(`-> 127.0.0.1:${echo} (`)));
      const payload = randomBytes(1024 * 1024);
      expect(await echoExact(pub.port, payload)).toBe(sha256(payload));
    });

    it('--bind ::1: the node server listens there and frps visitors reach it through the tunnel', async () => {
      const dir = tempDir('wire');
      const port = await freePort();
      await stockFrps(dir, port, true);
      const client = startCli([
        '-s',
        '--connect-reverse-proxy',
        `127.0.0.1:${port}`,
        '--protocol',
        'frp',
        '--token',
        'wire-token',
        '--bind',
        '::1',
        '--config-dir',
        dir,
      ]);
      const line = await client.waitFor((l) => l.startsWith('Published:') && l.endsWith('(node)'));
      const m = /^Published: 127\.0\.0\.1:(\d+) -> \[::1\]:\d+ \(node\)$/.exec(line);
      expect(m, line).not.toBeNull();
      expect((await fetch(`http://127.0.0.1:${m![1]}/server_info`)).status).toBe(200);
    });

    it('--expose of a port nothing listens on: a visitor through frps gets an empty reply and the client warns, naming the port', async () => {
      const dir = tempDir('wire');
      const port = await freePort();
      await stockFrps(dir, port, true);
      const empty = await freePort();
      const client = startCli([
        '-s',
        '--connect-reverse-proxy',
        `127.0.0.1:${port}`,
        '--protocol',
        'frp',
        '--token',
        'wire-token',
        '--expose',
        String(empty),
        '--config-dir',
        dir,
      ]);
      const pub = parsePublished(await client.waitFor((l) => l.endsWith(`(expose-${empty})`)));
      expect(await echoExact(pub.port, Buffer.from('anyone?'), 5_000).catch(() => 'no reply')).toBe('no reply');
      await client.waitFor(
        (l) =>
          l.includes(`warn: local service 127.0.0.1:${empty} unreachable: connect ECONNREFUSED`) &&
          l.includes(`(expose-${empty}:`),
        10_000,
        'stderr',
      );
    });

    it('a udp service published through a stock frps echoes 1,000 datagrams from 10 visitors', async () => {
      const dir = tempDir('wire');
      const port = await freePort();
      await stockFrps(dir, port, true);
      const echoPort = await udpEchoServer();
      try {
        const client = startCli([
          '-s',
          '--connect-reverse-proxy',
          `127.0.0.1:${port}`,
          '--protocol',
          'frp',
          '--token',
          'wire-token',
          '--expose',
          `udp:${echoPort}`,
          '--config-dir',
          dir,
        ]);
        const line = await client.waitFor((l) => l.endsWith(', udp)'));
        const remote = Number(/^Published: \S+:(\d+) -> /.exec(line)![1]);
        const { execFile } = await import('node:child_process');
        const out = await new Promise<string>((resolve, reject) =>
          execFile(
            process.execPath,
            [path.resolve(import.meta.dirname, '..', 'fixtures', 'udp-visitors.mjs'), '127.0.0.1', String(remote)],
            (err, stdout) => (err ? reject(err) : resolve(stdout)),
          ),
        );
        expect(JSON.parse(out)).toEqual({ ok: 1000, wrong: 0, total: 1000 });
      } finally {
        await killAll(); // stop the relay before its local UDP target goes away
      }
    }, 60_000);

    it('a wrong token is refused with E_AUTH (exit 3)', async () => {
      const dir = tempDir('wire');
      const port = await freePort();
      await stockFrps(dir, port, true);
      const r = await runCli([
        '-s',
        '--connect-reverse-proxy',
        `127.0.0.1:${port}`,
        '--protocol',
        'frp',
        '--token',
        'nope',
        '--config-dir',
        dir,
      ]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('authorization failed');
    });
  },
);
