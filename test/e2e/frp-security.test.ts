import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { FrpMsg, encodeFrpMessage, privilegeKey } from '../../src/frp-wire/codec/messages.js';
import { readMessages } from '../../src/frp-wire/codec/read.js';
import { FrpWireClient } from '../../src/frp-wire/client/client.js';
import { YamuxSession } from '../../src/mux/session.js';
import { Flag, FrameType, encodeHeader } from '../../src/mux/frame.js';
import { FRP_DIR, FRP_SKIP } from '../helpers/frp.js';
import { startCli } from '../helpers/cli.js';
import { echoExact, echoServer, freePort, host, listen, sha256, until } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir, track, defer } = useWorkspace();

async function connect(port: number, allowHalfOpen = false): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen });
  s.on('error', () => undefined);
  defer(() => s.destroy());
  await once(s, 'connect');
  return s;
}

/** Everything a connection receives until the host ends it. */
async function drain(s: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  if (!s.destroyed && !s.readableEnded)
    await new Promise((resolve) => (s.once('end', resolve), s.once('close', resolve)));
  return Buffer.concat(chunks);
}

// A frpc that can prove its work connections (0.32+): on a plain connection 0.31 is refused at login.
const login = (token: string, ts: number, runId = '') =>
  encodeFrpMessage(FrpMsg.Login, {
    version: '0.45.0',
    hostname: '',
    os: 'linux',
    arch: 'amd64',
    user: '',
    privilege_key: privilegeKey(token, ts),
    timestamp: ts,
    run_id: runId,
    metas: null,
    pool_count: 1,
  });

async function stockFrpc(
  hostPort: number,
  token: string,
  localPort: number,
  remotePort: number,
  o: { tcpMux: boolean; tls: boolean },
): Promise<string[]> {
  const dir = tempDir('frpsec');
  const ini = path.join(dir, 'frpc.ini');
  await writeFile(
    ini,
    `[common]\nserver_addr = 127.0.0.1\nserver_port = ${hostPort}\ntoken = ${token}\ntcp_mux = ${o.tcpMux}\ntls_enable = ${o.tls}\nlog_file = console\nlogin_fail_exit = false\n\n[svc]\ntype = tcp\nlocal_ip = 127.0.0.1\nlocal_port = ${localPort}\nremote_port = ${remotePort}\n`,
  );
  const proc = track(spawn(path.join(FRP_DIR, 'frpc'), ['-c', ini], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const log: string[] = [];
  proc.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
  return log;
}

describe.skipIf(!!FRP_SKIP)(
  `forged frp work connections against stock frpc 0.31.2${FRP_SKIP ? ` — skipped: ${FRP_SKIP}` : ''}`,
  () => {
    it('tcp_mux off, no TLS: frpc 0.31 is refused at login and its log says what to set', async () => {
      const h = await host({ token: 'frp-token' });
      const echo = await echoServer();
      const log = await stockFrpc(h.port, 'frp-token', echo, await freePort(), { tcpMux: false, tls: false });
      await until(() => /tcp_mux = true or tls_enable = true/.test(log.join('')), 15_000, 'frpc to log the refusal');
      expect(log.join('')).not.toMatch(/get run id/);
    });

    it.each([
      { tcpMux: true, tls: false },
      { tcpMux: false, tls: true },
    ])(
      '%j: four forged NewWorkConn with the sniffed run id get no visitor',
      async (o) => {
        const h = await host({ token: 'frp-token' });
        const logs: string[] = [];
        h.host.on('log', (l) => logs.push(l.message));
        const echo = await echoServer();
        const remote = await freePort();
        const log = await stockFrpc(h.port, 'frp-token', echo, remote, o);
        await until(() => /get run id \[([0-9a-f]+)\]/.test(log.join('')), 15_000, 'frpc to log in');
        const runId = /get run id \[([0-9a-f]+)\]/.exec(log.join(''))![1]!;
        const forged = await Promise.all(Array.from({ length: 4 }, () => connect(h.port)));
        const received = forged.map((s) => drain(s));
        for (const s of forged) s.write(encodeFrpMessage(FrpMsg.NewWorkConn, { run_id: runId }));
        // No visitor: at most a StartWorkConn that carries the refusal.
        for (const got of await Promise.all(received))
          if (got.length) expect(got.toString()).toMatch(/^s.{8}\{"proxy_name":"","error":"work connection refused/s);
        expect(logs.some((m) => m.includes('proved nothing but the run id'))).toBe(true);
        await until(() => log.join('').includes('start proxy success'), 15_000, 'frpc to start its proxy');
        const all = await Promise.all(
          Array.from({ length: 6 }, (_, i) => echoExact(remote, Buffer.from(`visitor ${i}`), 20_000)),
        );
        all.forEach((hash, i) => expect(hash).toBe(sha256(Buffer.from(`visitor ${i}`))));
      },
      60_000,
    );
  },
);

describe('frp logins and pre-auth limits (no frp binary)', () => {
  it("a replayed login cannot take over the victim's control session; a stale one is refused; a same-second twin gets its own", async () => {
    const h = await host({ token: 'frp-token' });
    const ts = Math.floor(Date.now() / 1000);
    const victim = await connect(h.port);
    victim.write(login('frp-token', ts));
    const first = await readMessages(victim, (m) => m.type === FrpMsg.LoginResp, 5_000);
    expect(first.message.body).toMatchObject({ error: '' });
    const runId = String(first.message.body.run_id);
    // A fresh copy within 2 s is what a second stock frpc of the same second sends (frp's own CI does):
    // it gets a session of its own, and the victim's stays.
    const twin = await connect(h.port);
    twin.write(login('frp-token', ts));
    const second = await readMessages(twin, (m) => m.type === FrpMsg.LoginResp, 5_000);
    expect(second.message.body).toMatchObject({ error: '' });
    expect(second.message.body.run_id).not.toBe(runId);
    twin.destroy();
    // A copy that asks for the victim's run id, or a stale key: refused.
    for (const replay of [login('frp-token', ts, runId), login('frp-token', ts - 600)]) {
      const attacker = await connect(h.port);
      const got = drain(attacker);
      attacker.write(replay);
      const resp = await readMessages(attacker, (m) => m.type === FrpMsg.LoginResp, 5_000);
      expect(resp.message.body).toMatchObject({ run_id: '', error: 'authorization failed' });
      await got; // and the host closed the refused connection
    }
    expect(victim.destroyed).toBe(false);
  });

  it('500 refused logins that never close leave no descriptor open in a host process', async () => {
    const dir = tempDir('frpsec-host');
    const hostProc = startCli([
      '-s',
      '--reverse-proxy',
      '--control-port',
      '0',
      '--bind',
      '127.0.0.1',
      '--token',
      'frp-token',
      '--port',
      '0',
      '--no-tls',
      '--config-dir',
      dir,
    ]);
    defer(() => hostProc.stop());
    const line = await hostProc.waitFor((l) => l.includes('Control address:'));
    const port = Number(/:(\d+)$/.exec(line.trim())![1]);
    const fds = async () => (await readdir(`/proc/${hostProc.child.pid}/fd`)).length;
    const before = await fds();
    // In rounds of 50: one address may have at most 64 handshakes in progress (the per-source limit).
    for (let round = 0; round < 10; round++) {
      // Half-open like the attacker's: the host's FIN does not close them from this side.
      const sockets = await Promise.all(Array.from({ length: 50 }, () => connect(port, true)));
      const closed = sockets.map((s) => drain(s));
      for (const s of sockets) s.write(login('wrong-token', Math.floor(Date.now() / 1000))); // and never end
      for (const got of await Promise.all(closed)) expect(got.length).toBeGreaterThan(0); // the LoginResp, then the close
    }
    await until(async () => (await fds()) <= before + 20, 10_000, 'the host to hold no refused connection');
  }, 60_000);

  it('a pre-auth yamux session opening 800 streams of 250 KB is closed at the third stream', async () => {
    const h = await host({ token: 'frp-token' });
    const s = await connect(h.port);
    const closed = new Promise((resolve) => s.once('close', resolve));
    const body = Buffer.alloc(250 * 1024, 0x20);
    let written = 0;
    for (let id = 1; id <= 1599 && !s.destroyed; id += 2) {
      const ok = s.write(Buffer.concat([encodeHeader(FrameType.Data, Flag.SYN, id, body.length), body]));
      written++;
      if (!ok) await Promise.race([new Promise((resolve) => s.once('drain', resolve)), closed]);
    }
    await closed;
    expect(written).toBeLessThan(800);
  }, 30_000);

  it('the frp-wire client survives a stream reset by the peer during login (no crash, a coded error)', async () => {
    const server = net.createServer((conn) => {
      conn.on('error', () => undefined);
      const session = new YamuxSession(conn, { client: false, accept: true });
      session.on('stream', (st) => st.once('data', () => st.destroy())); // a RST for the Login
    });
    defer(() => server.close());
    const port = await listen(server);
    const c = new FrpWireClient({
      host: '127.0.0.1',
      port,
      token: 't',
      tcpMux: true,
      tunnels: [{ name: 'x', localHost: '127.0.0.1', localPort: 1, remotePort: 0 }],
      heartbeatMs: 1_000,
    });
    defer(() => c.close());
    await expect(c.start()).rejects.toMatchObject({ code: expect.stringMatching(/^E_/) });
  });
});
