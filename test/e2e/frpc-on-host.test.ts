import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { FRP_DIR, FRP_SKIP } from '../helpers/frp.js';
import { freePort, udpEchoServer, echoExact, echoServer, host, sha256, until } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir, track, defer } = useWorkspace();

/** A stock frpc 0.31.2 with one tcp proxy; its log lines are collected. */
async function stockFrpc(
  hostPort: number,
  token: string,
  localPort: number,
  remotePort: number,
  tcpMux: boolean,
  extra = { tls: false, encryption: false, compression: false },
): Promise<{ proc: ChildProcess; log: string[] }> {
  const dir = tempDir('frpc');
  const ini = path.join(dir, 'frpc.ini');
  await writeFile(
    ini,
    `[common]\nserver_addr = 127.0.0.1\nserver_port = ${hostPort}\ntoken = ${token}\ntcp_mux = ${tcpMux}\ntls_enable = ${extra.tls}\nlog_file = console\nlogin_fail_exit = false\n\n[svc]\ntype = tcp\nlocal_ip = 127.0.0.1\nlocal_port = ${localPort}\nremote_port = ${remotePort}\nuse_encryption = ${extra.encryption}\nuse_compression = ${extra.compression}\n`,
  );
  const proc = track(spawn(path.join(FRP_DIR, 'frpc'), ['-c', ini], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const log: string[] = [];
  proc.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
  return { proc, log };
}

describe.skipIf(!!FRP_SKIP)(`stock frpc 0.31.2 on the p2prc host${FRP_SKIP ? ` — skipped: ${FRP_SKIP}` : ''}`, () => {
  // Without tcp_mux, frpc 0.31.2 proves its work connections only by being inside TLS (see docs/security.md).
  it.each([
    [true, false],
    [false, true],
  ])(
    'tcp_mux=%s tls_enable=%s: proxy up, 16 MiB byte-identical, 100 concurrent, restart gets the port back',
    async (tcpMux, tls) => {
      const extra = { tls, encryption: false, compression: false };
      const h = await host({ token: 'frp-token', graceMs: 10_000 });
      const echo = await echoServer();
      const remote = await freePort();
      let frpc = await stockFrpc(h.port, 'frp-token', echo, remote, tcpMux, extra);
      await until(() => frpc.log.join('').includes('start proxy success'), 15_000, 'frpc to start its proxy');
      const payload = randomBytes(16 * 1024 * 1024);
      expect(await echoExact(remote, payload)).toBe(sha256(payload));
      const all = await Promise.all(
        Array.from({ length: 100 }, (_, i) => echoExact(remote, Buffer.from(`v${i}-`.repeat(30)))),
      );
      all.forEach((hash, i) => expect(hash).toBe(sha256(Buffer.from(`v${i}-`.repeat(30)))));
      frpc.proc.kill('SIGKILL');
      await once(frpc.proc, 'exit');
      frpc = await stockFrpc(h.port, 'frp-token', echo, remote, tcpMux, extra);
      await until(
        () => frpc.log.join('').includes('start proxy success'),
        20_000,
        'the restarted frpc to get its port back',
      );
      expect(await echoExact(remote, Buffer.from('again'))).toBe(sha256(Buffer.from('again')));
    },
    90_000,
  );

  it.each([
    [true, { tls: true, encryption: true, compression: true }],
    [false, { tls: true, encryption: true, compression: false }],
    [true, { tls: false, encryption: false, compression: true }],
  ])(
    'tcp_mux=%s with %j: 16 MiB of compressible and random bytes arrive byte-identical',
    async (tcpMux, extra) => {
      const h = await host({ token: 'frp-token' });
      const echo = await echoServer();
      const remote = await freePort();
      const frpc = await stockFrpc(h.port, 'frp-token', echo, remote, tcpMux, extra);
      await until(() => frpc.log.join('').includes('start proxy success'), 15_000, 'frpc to start its proxy');
      const text = Buffer.from('the quick brown fox jumps over the lazy dog; '.repeat(200_000)).subarray(
        0,
        8 * 1024 * 1024,
      );
      const payload = Buffer.concat([text, randomBytes(8 * 1024 * 1024)]);
      expect(await echoExact(remote, payload)).toBe(sha256(payload));
    },
    60_000,
  );

  it('a udp proxy from frpc relays 1,000 datagrams from 10 visitors, each echoed to the right one', async () => {
    const h = await host({ token: 'frp-token' });
    const echoPort = await udpEchoServer();
    const remote = await freePort();
    const dir = tempDir('frpc');
    const ini = path.join(dir, 'frpc.ini');
    await writeFile(
      ini,
      `[common]\nserver_addr = 127.0.0.1\nserver_port = ${h.port}\ntoken = frp-token\nlog_file = console\n\n[u]\ntype = udp\nlocal_ip = 127.0.0.1\nlocal_port = ${echoPort}\nremote_port = ${remote}\n`,
    );
    const proc = track(spawn(path.join(FRP_DIR, 'frpc'), ['-c', ini], { stdio: ['ignore', 'pipe', 'pipe'] }));
    const log: string[] = [];
    proc.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
    await until(
      () => log.join('').includes('incoming a new work connection for udp proxy'),
      15_000,
      'frpc to open the udp channel',
    );
    const { execFile } = await import('node:child_process');
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [path.resolve(import.meta.dirname, '..', 'fixtures', 'udp-visitors.mjs'), '127.0.0.1', String(remote)],
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    expect(JSON.parse(out)).toEqual({ ok: 1000, wrong: 0, total: 1000 });
  }, 60_000);

  it("a wrong token gets frp's own login error, visible in frpc's log, and the host lives on", async () => {
    const h = await host({ token: 'right' });
    const echo = await echoServer();
    const frpc = await stockFrpc(h.port, 'wrong', echo, await freePort(), true);
    await until(() => frpc.log.join('').includes('authorization failed'), 15_000, "the login error in frpc's log");
    expect(h.host.tunnels()).toEqual([]);
    const garbage = net.connect(h.port, '127.0.0.1');
    defer(() => garbage.destroy());
    garbage.on('error', () => undefined);
    garbage.resume(); // read the GoAway the host answers with, so the close is seen
    garbage.write(Buffer.from([0x00, 0x09, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])); // a bad yamux frame type
    await once(garbage, 'close');
    expect(h.host.tunnels()).toEqual([]);
  }, 40_000);
});
