import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { once } from 'node:events';
import path from 'node:path';
import { NodeServer } from '../../src/node/node-server.js';
import { IpTableExchange } from '../../src/node/exchange.js';
import { selfEntry, type SelfEntryInput } from '../../src/node/iptable.js';
import type { PeerEntry } from '../../src/node/validate.js';
import { runPlainNode } from '../../src/node/plain.js';
import { FakeP2prcNode, goDecode } from '../helpers/fake-p2prc.js';

interface P2prcNode {
  node: NodeServer;
  exchange: IpTableExchange;
  proxies: PeerEntry[];
}

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A p2prc node server with its exchange, advertising loopback; `entry` shapes its own entry. */
async function p2prcNode(
  bootstrap: string[],
  entry: (port: number) => Partial<SelfEntryInput> = () => ({}),
): Promise<P2prcNode> {
  let exchange: IpTableExchange | undefined;
  const self = () => selfEntry({ serverPort: node.port, advertise: '127.0.0.1', ...entry(node.port) });
  const node: NodeServer = new NodeServer(
    self,
    () => ({ name: 'p2prc', version: 'test', role: 'node' }),
    () => exchange?.peers() ?? [],
    {
      learn: (entries, source) => exchange?.ingest({ ip_address: entries }, source),
    },
  );
  await node.listen(0, '127.0.0.1');
  exchange = new IpTableExchange({ self, bootstrap, timeoutMs: 5_000 });
  const proxies: PeerEntry[] = [];
  exchange.on('proxy', (e) => proxies.push(e));
  cleanup.push(() => node.close());
  return { node, exchange, proxies };
}

async function fakeGo(): Promise<FakeP2prcNode> {
  const go = await new FakeP2prcNode().start();
  cleanup.push(() => go.close());
  return go;
}

const ports = (entries: Array<{ ServerPort: string | number | boolean }>) =>
  entries.map((e) => Number(e.ServerPort)).sort((a, b) => a - b);

describe('a p2prc node and a P2PRC (Go) node exchange tables', () => {
  it('p2prc tries GET /ip_table, gets 404 from the Go node, and exchanges with POST /IpTable from then on', async () => {
    const go = await fakeGo();
    const a = await p2prcNode([`127.0.0.1:${go.port}`]);
    await a.exchange.round();
    await a.exchange.round();
    expect(go.requests.filter((r) => r !== 'GET /server_info')).toEqual([
      'GET /ip_table',
      'POST /IpTable',
      'POST /IpTable',
    ]);
    expect(ports(a.exchange.peers())).toEqual([go.port]);
    expect(ports(go.table)).toEqual([go.port, a.node.port].sort((x, y) => x - y));
  });

  it('a mixed network of p2prc and P2PRC nodes converges as far as the Go merge rule lets it', async () => {
    const go = await fakeGo();
    const a = await p2prcNode([`127.0.0.1:${go.port}`]);
    const b = await p2prcNode([`127.0.0.1:${go.port}`]);
    const c = await p2prcNode([`127.0.0.1:${b.node.port}`]); // reaches the Go node only through b
    for (let i = 0; i < 3; i++) for (const n of [a, b, c]) await n.exchange.round();
    await go.updateFrom(`http://127.0.0.1:${c.node.port}`); // the Go node's own update round (UpdateIpTable)
    // Go's merge rule (p2p/speedtest.go) keeps one NAT=true entry per IPV4, and here all share
    // 127.0.0.1: Go drops some of them; every p2prc node still learns the Go node.
    const kept = go.table.map((e) => Number(e.ServerPort)).filter((p) => p !== go.port);
    expect(kept.length).toBeGreaterThanOrEqual(1);
    expect(kept.length).toBeLessThan(3);
    for (const n of [a, b, c]) expect(ports(n.exchange.peers())).toContain(go.port);
    // b and c learn each other directly (c bootstraps from b), whatever Go kept.
    expect(ports(c.exchange.peers())).toContain(b.node.port);
  });

  it('nodes that lend no frp port say NAT: true, so a Go node behind NAT never picks them for /FRPPort', async () => {
    const go = await fakeGo();
    // Both appear at the proxy's address (loopback here) with their own public port, as escaped nodes do.
    const escaped = (port: number) => ({ proxied: { host: '127.0.0.1', port, engine: 'native' as const } });
    const a = await p2prcNode([`127.0.0.1:${go.port}`], escaped);
    const b = await p2prcNode([`127.0.0.1:${go.port}`], escaped);
    await a.exchange.round();
    await b.exchange.round();
    const mine = go.table.filter((e) => e.EscapeImplementation === 'P2PRC');
    expect(mine.every((e) => e.NAT === true && e.IPV6 === '')).toBe(true);
    // Go's MapPort takes the lowest-latency entry with NAT false (server/server.go): none of these.
    expect(go.table.filter((e) => e.EscapeImplementation === 'P2PRC' && !e.NAT)).toEqual([]);
    // Go's merge rule (p2p/speedtest.go) keeps one NAT=true entry per IPV4: the price of never
    // sending a Go node to a port that answers 403.
    expect(mine).toHaveLength(1);
    expect([a.node.port, b.node.port]).toContain(Number(mine[0]!.ServerPort));
  });

  it("a host's reverse-proxy details survive a hop through a Go node (CustomInformation), and only on its own entry", async () => {
    const go = await fakeGo();
    const info = {
      ControlPort: 7000,
      Fingerprint: 'AA:BB',
      Tls: true,
      Engine: 'native',
      Open: false,
      AcceptsClients: true,
      FreePorts: 5,
      Clients: 0,
      Version: '0.1.0',
    };
    const host = await p2prcNode([`127.0.0.1:${go.port}`], () => ({
      proxyServer: true,
      reverseProxy: { ...info, Open: true },
      lendsFrpPort: true,
    }));
    const other = await p2prcNode([]);
    await host.exchange.round();
    // The Go node kept only its struct's fields: no ReverseProxy, but CustomInformation.
    const stored = go.table.find((e) => Number(e.ServerPort) === host.node.port)!;
    expect(stored).not.toHaveProperty('ReverseProxy');
    expect(stored.CustomInformation).not.toBe('');
    // The Go node's own update round carries the entry on to another p2prc node.
    await go.updateFrom(`http://127.0.0.1:${other.node.port}`);
    expect(other.proxies.map((e) => e.ServerPort)).toEqual([String(host.node.port)]);
    expect(other.proxies[0]!.ReverseProxy).toMatchObject({ ControlPort: 7000, Fingerprint: 'AA:BB', Tls: true });
    // P2PRC's merge copies CustomInformation onto other entries; ours says whom it is about, so no
    // other entry becomes a proxy from it.
    const copied = go.table.map((e) => ({ ...e, CustomInformation: stored.CustomInformation, ProxyServer: true }));
    other.proxies.length = 0;
    other.exchange.ingest({ ip_address: copied }, 'test');
    expect(other.proxies.map((e) => e.ServerPort)).toEqual([String(host.node.port)]);
  });

  it("when P2PRC's merge has overwritten a host's CustomInformation, the next round asks the host itself", async () => {
    const go = await fakeGo();
    const info = {
      ControlPort: 7001,
      Fingerprint: '',
      Tls: false,
      Engine: 'native',
      Open: false,
      AcceptsClients: true,
      FreePorts: 5,
      Clients: 0,
      Version: '0.1.0',
    };
    const host = await p2prcNode([`127.0.0.1:${go.port}`], () => ({
      proxyServer: true,
      reverseProxy: { ...info, Open: true },
      lendsFrpPort: true,
    }));
    const other = await p2prcNode([`127.0.0.1:${go.port}`]);
    await host.exchange.round();
    await other.exchange.round();
    // other's own POST made the Go node copy other's last CustomInformation over the host's
    // (p2p/speedtest.go, SpeedTestUpdatedIPTable), so the reply had the host without its details...
    expect(go.table.find((e) => Number(e.ServerPort) === host.node.port)!.CustomInformation).toBe('');
    expect(other.proxies).toEqual([]);
    // ...but the host is now a known node, polled directly, and its own entry has them.
    await other.exchange.round();
    expect(other.proxies.map((e) => e.ReverseProxy?.ControlPort)).toEqual([7001]);
  });
});

describe('the table file P2PRC tooling reads', () => {
  it("a running node writes <config dir>/p2p/iptable/ip_table.json, readable as P2PRC's table", async () => {
    const go = await fakeGo();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'p2prc-iptable-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const node = await runPlainNode({
      configDir: dir,
      port: 0,
      bind: '127.0.0.1',
      bootstrap: [`127.0.0.1:${go.port}`],
      exchangeIntervalMs: 60_000,
      staleMs: 300_000,
    });
    cleanup.push(() => node.close());
    const [file] = (await once(node.exchange, 'saved', { signal: AbortSignal.timeout(10_000) })) as [string];
    expect(file).toBe(path.join(dir, 'p2p', 'iptable', 'ip_table.json'));
    const text = await readFile(file, 'utf8');
    expect(text.startsWith('{\n "ip_address": [\n  {\n   "Name"')).toBe(true); // Go's MarshalIndent(t, "", " ")
    expect(ports(goDecode(text))).toEqual([go.port, node.port].sort((x, y) => x - y));
  });

  it('a node that POSTs its table reaches ip_table.json within seconds once it answers a poll', async () => {
    const go = await fakeGo();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'p2prc-iptable-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const node = await runPlainNode({
      configDir: dir,
      port: 0,
      bind: '127.0.0.1',
      bootstrap: [],
      exchangeIntervalMs: 60_000,
      staleMs: 300_000,
    });
    cleanup.push(() => node.close());
    await once(node.exchange, 'saved', { signal: AbortSignal.timeout(10_000) }); // the first round, alone
    await go.updateFrom(`http://127.0.0.1:${node.port}`); // P2PRC's UpdateIpTable: POST /IpTable
    // Long before the next regular round (60 s), an early one polls the new node and keeps it.
    const [file] = (await once(node.exchange, 'saved', { signal: AbortSignal.timeout(10_000) })) as [string];
    expect(ports(goDecode(await readFile(file, 'utf8')))).toEqual([go.port, node.port].sort((x, y) => x - y));
  });
});
