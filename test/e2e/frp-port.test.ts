import { describe, expect, it } from 'vitest';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { runHostService, type HostService } from '../../src/modes/host.js';
import { FRP_DIR, FRP_SKIP } from '../helpers/frp.js';
import { echoExact, echoServer, freePort, sha256, udpEchoServer, until } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

/**
 * P2PRC's NAT escape against a p2prc host: GET /FRPPort[?udp=true] (server/server.go) answers a bare
 * port, and P2PRC's embedded frp client logs in there with no token (p2p/frp/client.go sets no
 * Token). Played here by the stock frpc 0.31.2 with no token in its config.
 */
const { tempDir, track, defer } = useWorkspace();

async function startHost(open: boolean, allowPorts?: string): Promise<HostService> {
  const s = await runHostService({
    configDir: tempDir('frpport'),
    controlPort: 0,
    bind: '127.0.0.1',
    token: 'host-secret',
    nodePort: 0,
    open,
    bootstrap: [],
    ...(allowPorts ? { allowPorts } : {}),
  });
  defer(() => s.close());
  return s;
}

/** A stock frpc with no token line at all, as P2PRC configures its embedded client. */
async function tokenlessFrpc(serverPort: number, proxies: string): Promise<{ proc: ChildProcess; log: string[] }> {
  const ini = path.join(tempDir('frpc'), 'frpc.ini');
  await writeFile(
    ini,
    `[common]\nserver_addr = 127.0.0.1\nserver_port = ${serverPort}\nlog_file = console\nlogin_fail_exit = false\n\n${proxies}`,
  );
  const proc = track(spawn(path.join(FRP_DIR, 'frpc'), ['-c', ini], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const log: string[] = [];
  proc.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
  return { proc, log };
}

const tcp = (name: string, local: number, remote: number) =>
  `[${name}]\ntype = tcp\nlocal_ip = 127.0.0.1\nlocal_port = ${local}\nremote_port = ${remote}\n\n`;
const udp = (name: string, local: number, remote: number) =>
  `[${name}]\ntype = udp\nlocal_ip = 127.0.0.1\nlocal_port = ${local}\nremote_port = ${remote}\n\n`;

describe('GET /FRPPort on a host', () => {
  it('without --open: 403 and one line saying why', async () => {
    const h = await startHost(false);
    for (const q of ['', '?udp=true']) {
      const res = await fetch(`http://127.0.0.1:${h.nodePort}/FRPPort${q}`);
      expect(res.status).toBe(403);
      expect(await res.text()).toMatch(/^E_NOT_AVAILABLE: this host is not open[^\n]*--open$/);
    }
  });
});

describe.skipIf(!!FRP_SKIP)(
  `a token-less frpc 0.31.2 on the port /FRPPort lends${FRP_SKIP ? ` — skipped: ${FRP_SKIP}` : ''}`,
  () => {
    it('publishes a TCP and a UDP proxy; the port policy still refuses a port outside it', async () => {
      const [remoteTcp, remoteUdp, outside] = [await freePort(), await freePort(), await freePort()];
      const h = await startHost(true, `${remoteTcp},${remoteUdp}`);
      const answers = await Promise.all(
        ['', '?udp=true'].map(async (q) => {
          const res = await fetch(`http://127.0.0.1:${h.nodePort}/FRPPort${q}`);
          expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
          return [res.status, await res.text()] as const;
        }),
      );
      const port = answers[0]![1];
      expect(port).toMatch(/^[1-9][0-9]*$/); // what strconv.Atoi in P2PRC's client needs
      expect(answers).toEqual([
        [200, port],
        [200, port],
      ]);
      expect(Number(port)).not.toBe(h.handle.port);

      const echo = await echoServer();
      const echoUdp = await udpEchoServer();
      const frpc = await tokenlessFrpc(
        Number(port),
        tcp('web', echo, remoteTcp) + udp('game', echoUdp, remoteUdp) + tcp('denied', echo, outside),
      );
      await until(() => frpc.log.join('').includes('[web] start proxy success'), 15_000, 'the tcp proxy');
      await until(
        () => frpc.log.join('').includes('incoming a new work connection for udp proxy'),
        15_000,
        'the udp channel',
      );
      await until(
        () => /\[denied\] start error/.test(frpc.log.join('')),
        15_000,
        'the refusal of a port outside the policy',
      );
      expect(await echoExact(remoteTcp, Buffer.from('through the open port'))).toBe(
        sha256(Buffer.from('through the open port')),
      );
      const { stdout } = await promisify(execFile)(process.execPath, [
        path.resolve(import.meta.dirname, '..', 'fixtures', 'udp-visitors.mjs'),
        '127.0.0.1',
        String(remoteUdp),
      ]);
      expect(JSON.parse(stdout)).toEqual({ ok: 1000, wrong: 0, total: 1000 });
      const bound = await new Promise<boolean>((resolve) => {
        const s = net.connect(outside, '127.0.0.1', () => (s.destroy(), resolve(true)));
        s.on('error', () => resolve(false));
      });
      expect(bound).toBe(false);
    }, 60_000);

    it('the control port still wants the token: the same token-less frpc is refused there', async () => {
      const h = await startHost(true);
      const frpc = await tokenlessFrpc(h.handle.port, tcp('web', await echoServer(), await freePort()));
      await until(() => frpc.log.join('').includes('authorization failed'), 15_000, 'the login error');
      expect(h.handle.native!.tunnels()).toEqual([]);
    }, 30_000);
  },
);
