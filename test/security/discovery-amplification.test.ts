import { describe, expect, it } from 'vitest';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startDiscovery } from '../../src/node/discovery.js';
import { selfEntry, type IpTableEntry } from '../../src/node/iptable.js';
import { UNVERIFIED_PER_ROUND } from '../../src/node/poll-plan.js';
import { listen } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir, defer } = useWorkspace();

const entry = (port: number): IpTableEntry => ({
  Name: '',
  MachineUsername: '',
  IPV4: '127.0.0.1',
  IPV6: '',
  Latency: 0,
  Download: 0,
  Upload: 0,
  ServerPort: String(port),
  UDPServerPort: '',
  BareMetalSSHPort: '',
  NAT: false,
  EscapeImplementation: '',
  ProxyServer: false,
  UnSafeMode: false,
  PublicKey: '',
  CustomInformation: '',
});

/** Loopback ports nothing listens on: bound, noted, closed. */
async function closedPorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, async () => {
      const s = net.createServer();
      return { s, port: await listen(s) };
    }),
  );
  await Promise.all(servers.map(({ s }) => new Promise((r) => s.close(r))));
  return servers.map(({ port }) => port);
}

/** A node server answering GET /ip_table with `table()`, counting the polls it gets. */
async function tableServer(table: () => IpTableEntry[]): Promise<{ port: number; polls: () => number }> {
  let polls = 0;
  const server = http.createServer((req, res) => {
    polls++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ip_address: table() }));
  });
  const port = await listen(server);
  defer(() => new Promise((r) => (server.closeAllConnections(), server.close(r))));
  return { port, polls: () => polls };
}

// A peer's table must not turn the node into a poller of attacker-chosen addresses: polls are bounded, with backoff.
describe('discovery amplification', () => {
  it('a peer advertising 64 dead addresses gets a bounded number of polls out of the node, with backoff; a real node it names is still found', async () => {
    const dead = await closedPorts(64);
    // One advertised address is a listener that counts what reaches it and hangs up: an honest count of polls.
    let sinkHits = 0;
    const sink = net.createServer((s) => (sinkHits++, s.destroy()));
    const sinkPort = await listen(sink);
    defer(() => new Promise((r) => sink.close(r)));
    const good = await tableServer(() => [entry(good.port)]);
    const peer = await tableServer(() => [entry(peer.port), ...dead.map(entry), entry(sinkPort), entry(good.port)]);
    const dir = tempDir('amplify');
    const [selfPort] = await closedPorts(1);
    const exchange = startDiscovery({
      configDir: dir,
      self: () => selfEntry({ serverPort: selfPort!, advertise: '127.0.0.1' }),
      bootstrap: [`127.0.0.1:${peer.port}`],
      intervalMs: 3_600_000,
    });
    defer(() => exchange.stop());
    const rounds: string[][] = [];
    exchange.on('round', (r) => rounds.push(r.targets));
    await once(exchange, 'round', { signal: AbortSignal.timeout(15_000) });
    await exchange.stop(); // no timer rounds from here on: the test drives them
    for (let i = 0; i < 16; i++) await exchange.round();

    const peerBase = `http://127.0.0.1:${peer.port}`;
    const goodBase = `http://127.0.0.1:${good.port}`;
    expect(rounds).toHaveLength(17);
    expect(peer.polls()).toBe(17); // the configured node: every round
    for (const targets of rounds) {
      const unverified = targets.filter((t) => t !== peerBase && t !== goodBase);
      expect(unverified.length).toBeLessThanOrEqual(UNVERIFIED_PER_ROUND);
    }
    // Backoff 2, 4, 8, 16 rounds after each failure: at most 4 polls of one dead address in 17 rounds.
    expect(sinkHits).toBeGreaterThanOrEqual(1);
    expect(sinkHits).toBeLessThanOrEqual(4);
    // Dead addresses got at most UNVERIFIED_PER_ROUND polls a round (17 rounds of 66 addresses would be 1,122).
    const deadPolls = rounds.flat().filter((t) => t !== peerBase && t !== goodBase).length;
    expect(deadPolls).toBeLessThanOrEqual(17 * UNVERIFIED_PER_ROUND);
    // The real node the peer named was reached within the budget, and once it answered it is polled every round.
    const firstGood = rounds.findIndex((t) => t.includes(goodBase));
    expect(firstGood).toBeGreaterThan(-1);
    expect(rounds.slice(firstGood).every((t) => t.includes(goodBase))).toBe(true);
    // Only nodes that answered reach ip_table.json (whose nodes are polled every round, even after a restart).
    const file = JSON.parse(await readFile(path.join(dir, 'p2p', 'iptable', 'ip_table.json'), 'utf8')) as {
      ip_address: IpTableEntry[];
    };
    expect(file.ip_address.map((e) => Number(e.ServerPort)).sort((a, b) => a - b)).toEqual(
      [selfPort!, peer.port, good.port].sort((a, b) => a - b),
    );
  }, 60_000);
});
