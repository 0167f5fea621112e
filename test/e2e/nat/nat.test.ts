import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { killAll, parsePublished, startCli, type Running } from '../../helpers/cli.js';
import { canUseNetns, createNatBed, type NatBed } from './netns.js';
import { FRP_DIR, FRP_SKIP } from '../../helpers/frp.js';

const skipReason = await canUseNetns();
if (skipReason) console.warn(`NAT test bed skipped: ${skipReason}`);

/** A visitor-side fetch, run with node inside the visitor namespace. */
async function visitorFetch(bed: NatBed, url: string, timeoutMs = 5_000): Promise<string> {
  const script = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(${timeoutMs}) }).then(r => r.text()).then(t => process.stdout.write(t), e => { console.error(e.cause?.code ?? e.message); process.exit(1); })`;
  return bed.exec(bed.ns.visitor, process.execPath, '-e', script);
}

describe.skipIf(!!skipReason)(
  `NAT test bed (network namespaces)${skipReason ? ` — skipped: ${skipReason}` : ''}`,
  () => {
    let bed: NatBed;
    let dirHost: string;
    let dirClient: string;
    let host: Running;
    let client: Running;
    let pub: ReturnType<typeof parsePublished>;
    let udpPublic: number;
    const token = 'nat-test-token';
    const hostArgs = () => [
      '-s',
      '--reverse-proxy',
      '--bind',
      '0.0.0.0',
      '--control-port',
      '7000',
      '--public-host',
      bed.hostIp,
      '--token',
      token,
      '--heartbeat',
      '1',
      '--grace',
      '30',
      '--port',
      '0',
      '--config-dir',
      dirHost,
    ];

    beforeAll(async () => {
      bed = await createNatBed();
      dirHost = await mkdtemp(path.join(os.tmpdir(), 'p2prc-nat-h-'));
      dirClient = await mkdtemp(path.join(os.tmpdir(), 'p2prc-nat-c-'));
      host = startCli(hostArgs(), {}, bed.ns.public);
      await host.waitFor((l) => l.includes('Client command:'));
      client = startCli(
        [
          '-s',
          '--connect-reverse-proxy',
          `${bed.hostIp}:7000`,
          '--token',
          token,
          '--heartbeat',
          '1',
          '--udp-port',
          '0',
          '--config-dir',
          dirClient,
        ],
        {},
        bed.ns.private,
      );
      pub = parsePublished(await client.waitFor((l) => l.startsWith('Published:')));
      udpPublic = Number(/:(\d+) -> \S+ \([^)]*, udp\)$/.exec(await client.waitFor((l) => l.endsWith(', udp)')))![1]);
    });

    afterAll(async () => {
      await killAll();
      await bed?.destroy();
      await Promise.all([dirHost, dirClient].filter(Boolean).map((d) => rm(d, { recursive: true, force: true })));
    });

    it('a visitor reaches the NATed node through the host, and the IP table shows the proxy address', async () => {
      expect(pub.host).toBe(bed.hostIp);
      // the node server's port was negotiated to be free on both sides: same number here and there
      expect(pub.localPort).toBe(pub.port);
      const table = JSON.parse(await visitorFetch(bed, `http://${pub.publicAddress}/ip_table`)) as {
        ip_address: Array<Record<string, unknown>>;
      };
      expect(table.ip_address[0]).toMatchObject({
        IPV4: bed.hostIp,
        ServerPort: String(pub.port),
        // An escaped node lends no frp port: NAT true keeps P2PRC's MapPort from asking it.
        NAT: true,
        EscapeImplementation: 'P2PRC',
      });
    });

    it('relays 1,000 UDP datagrams from 10 visitors through the NAT, each echoed to the right visitor', async () => {
      const script = path.resolve(import.meta.dirname, '..', '..', 'fixtures', 'udp-visitors.mjs');
      const out = await bed.exec(bed.ns.visitor, process.execPath, script, bed.hostIp, String(udpPublic));
      expect(JSON.parse(out)).toEqual({ ok: 1000, wrong: 0, total: 1000 });
    }, 60_000);

    it('the visitor cannot reach the private address directly', async () => {
      await expect(visitorFetch(bed, `http://${bed.privateIp}:${pub.localPort}/ip_table`, 2_000)).rejects.toThrow();
    });

    it('after a host restart the client reconnects through the NAT to the same public port', async () => {
      await host.stop('SIGKILL');
      host = startCli(hostArgs(), {}, bed.ns.public);
      await host.waitFor((l) => l.includes('Client command:'));
      await client.waitFor((l) => l.includes('reconnected'), 60_000, 'stderr');
      const table = JSON.parse(await visitorFetch(bed, `http://${pub.publicAddress}/ip_table`)) as {
        ip_address: Array<Record<string, unknown>>;
      };
      expect(table.ip_address[0]!.ServerPort).toBe(String(pub.port));
    }, 90_000);

    it('notices a black-holed NAT within heartbeats and recovers when it is lifted', async () => {
      const reconnectsBefore = client.stderr.filter((l) => l.includes('reconnected')).length;
      await bed.dropPrivate();
      try {
        await client.waitFor((l) => l.includes('E_TIMEOUT'), 15_000, 'stderr');
        // keep the drop for 20 s in all, as a flaky uplink would
        await new Promise((r) => setTimeout(r, 15_000));
      } finally {
        await bed.liftDrop();
      }
      await expect
        .poll(() => client.stderr.filter((l) => l.includes('reconnected')).length, { timeout: 60_000, interval: 250 })
        .toBeGreaterThan(reconnectsBefore);
      const table = JSON.parse(await visitorFetch(bed, `http://${pub.publicAddress}/ip_table`)) as {
        ip_address: Array<Record<string, unknown>>;
      };
      expect(table.ip_address[0]!.ServerPort).toBe(String(pub.port));
    }, 120_000);
  },
);

describe.skipIf(!!skipReason || !!FRP_SKIP)(
  `NAT test bed with the frp engine${(skipReason ?? FRP_SKIP) ? ` — skipped: ${skipReason ?? FRP_SKIP}` : ''}`,
  () => {
    let bed: NatBed;
    const dirs: string[] = [];
    afterAll(async () => {
      await killAll();
      await bed?.destroy();
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    });

    it('a visitor reaches the NATed node through a supervised frps, and the IP table shows the proxy address', async () => {
      bed = await createNatBed();
      const [dh, dc] = [
        await mkdtemp(path.join(os.tmpdir(), 'p2prc-natfrp-h-')),
        await mkdtemp(path.join(os.tmpdir(), 'p2prc-natfrp-c-')),
      ];
      dirs.push(dh, dc);
      const env = { P2PRC_FRP_BIN_DIR: FRP_DIR };
      const host = startCli(
        [
          '-s',
          '--reverse-proxy',
          '--engine',
          'frp',
          '--control-port',
          '7000',
          '--public-host',
          bed.hostIp,
          '--token',
          't',
          '--port',
          '0',
          '--config-dir',
          dh,
        ],
        env,
        bed.ns.public,
      );
      await host.waitFor((l) => l.includes('Client command:'));
      const client = startCli(
        [
          '-s',
          '--connect-reverse-proxy',
          `${bed.hostIp}:7000`,
          '--engine',
          'frp',
          '--no-tls',
          '--token',
          't',
          '--config-dir',
          dc,
        ],
        env,
        bed.ns.private,
      );
      const pub = parsePublished(await client.waitFor((l) => l.startsWith('Published:'), 30_000));
      expect(pub.host).toBe(bed.hostIp);
      expect(pub.localPort).toBe(pub.port); // free on both sides: the same number here and there
      const table = JSON.parse(await visitorFetch(bed, `http://${pub.publicAddress}/ip_table`)) as {
        ip_address: Array<Record<string, unknown>>;
      };
      expect(table.ip_address[0]).toMatchObject({
        IPV4: bed.hostIp,
        ServerPort: String(pub.port),
        NAT: true,
        EscapeImplementation: 'FRP',
      });
    }, 60_000);
  },
);
