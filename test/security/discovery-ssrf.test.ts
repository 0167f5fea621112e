import { describe, expect, it } from 'vitest';
import http from 'node:http';
import { IpTableExchange, ipTableUpload, nodeBase } from '../../src/node/exchange.js';
import { NodeServer } from '../../src/node/node-server.js';
import type { IpTableEntry } from '../../src/node/iptable.js';
import { validateEntry } from '../../src/node/validate.js';
import { listen } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

const entry = (over: Partial<IpTableEntry>): IpTableEntry => ({
  Name: '',
  MachineUsername: '',
  IPV4: '127.0.0.1',
  IPV6: '',
  Latency: 0,
  Download: 0,
  Upload: 0,
  ServerPort: '8088',
  UDPServerPort: '',
  BareMetalSSHPort: '',
  NAT: false,
  EscapeImplementation: '',
  ProxyServer: false,
  UnSafeMode: false,
  PublicKey: '',
  CustomInformation: '',
  ...over,
});

/** An HTTP server that records every request line it gets and answers with an empty IP table. */
async function recorder(): Promise<{ port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ip_address: [] }));
  });
  const port = await listen(server);
  defer(() => new Promise((r) => (server.closeAllConnections(), server.close(r))));
  return { port, requests };
}

/** A node server whose POST /IpTable feeds an exchange, as `p2prc -s` runs them. */
async function node(): Promise<{ port: number; exchange: IpTableExchange }> {
  let port = 0;
  const self = () => entry({ ServerPort: String(port) });
  const exchange = new IpTableExchange({ self, bootstrap: [], timeoutMs: 2_000 });
  const server = new NodeServer(
    self,
    () => ({ name: 'n', version: '0', role: 'node' }),
    () => exchange.peers(),
    {
      learn: (entries, source) => exchange.ingest({ ip_address: entries }, source),
    },
  );
  port = await server.listen(0, '127.0.0.1');
  defer(() => server.close());
  return { port, exchange };
}

/** P2PRC's multipart POST /IpTable, as a web page's form (or fetch with FormData) can send it. */
async function post(port: number, table: unknown, headers: Record<string, string> = {}): Promise<number> {
  const upload = ipTableUpload(table as never);
  const res = await fetch(`http://127.0.0.1:${port}/IpTable`, {
    method: 'POST',
    headers: { 'content-type': upload.contentType, ...headers },
    body: upload.body,
  });
  await res.arrayBuffer();
  return res.status;
}

// A peer's table, or a web page on another origin, must not aim the node's requests at a path of its choosing.
describe('discovery cannot be used for blind SSRF', () => {
  it('entries are IP literals and decimal ports; node addresses parse as URLs or not at all (pure)', () => {
    const bad: Array<[Partial<IpTableEntry>, RegExp]> = [
      [{ IPV4: '127.0.0.1:9/internal/action?delete=all&x=', ServerPort: '1' }, /IPV4 .* not an IPv4/],
      [{ IPV4: 'localhost' }, /not an IPv4/],
      [{ IPV4: '', IPV6: '::1]:9/x?y=[::1' }, /not an IPv6/],
      [{ IPV4: '', IPV6: 'fe80::1%eth0' }, /not an IPv6/],
      [{ ServerPort: '80/internal' }, /not a port/],
      [{ ServerPort: ' 80' }, /not a port/],
      [{ ServerPort: '0x50' }, /not a port/],
      [{ ServerPort: '65536' }, /not a port/],
      [{ ServerPort: '1e3' }, /not a port/],
    ];
    for (const [over, reason] of bad) expect(validateEntry(entry(over))).toMatch(reason);
    expect(validateEntry(entry({ IPV4: '', IPV6: '2001:db8::1', ServerPort: '65535' }))).toMatchObject({
      IPV6: '2001:db8::1',
    });
    expect(nodeBase('127.0.0.1:9/internal/action?delete=all&x=:1')).toBeUndefined();
    expect(nodeBase('http://user:pw@127.0.0.1:9')).toBeUndefined();
    expect(nodeBase('127.0.0.1:9#x')).toBeUndefined();
    expect(nodeBase('file:///etc/passwd')).toBeUndefined();
    expect(nodeBase('127.0.0.1:8088')).toBe('http://127.0.0.1:8088');
    expect(nodeBase('[2001:db8::1]:8088/ip_table')).toBe('http://[2001:db8::1]:8088');
    expect(nodeBase('https://node.example:8443/')).toBe('https://node.example:8443');
  });

  it('a planted entry with a path and a query is refused, and the node never requests it', async () => {
    const target = await recorder();
    const n = await node();
    const evil = entry({ IPV4: `127.0.0.1:${target.port}/internal/action?delete=all&x=`, ServerPort: '1' });
    expect(await post(n.port, { ip_address: [evil] })).toBe(400);
    await n.exchange.round();
    expect(n.exchange.peers()).toEqual([]);
    expect(target.requests).toEqual([]);
    // A real node at that port is polled at /ip_table and nowhere else.
    expect(await post(n.port, { ip_address: [entry({ ServerPort: String(target.port) })] })).toBe(200);
    await n.exchange.round();
    expect(target.requests).toEqual(['GET /ip_table']);
  });

  it("a browser's request for another origin gets 403 and teaches the node nothing; P2PRC's client sends no such header", async () => {
    const target = await recorder();
    const n = await node();
    const table = { ip_address: [entry({ ServerPort: String(target.port) })] };
    expect(await post(n.port, table, { origin: 'http://evil.example' })).toBe(403);
    expect(await post(n.port, table, { 'sec-fetch-site': 'cross-site' })).toBe(403);
    expect(await post(n.port, table, { 'sec-fetch-site': 'same-site' })).toBe(403);
    const get = await fetch(`http://127.0.0.1:${n.port}/ip_table`, { headers: { origin: 'http://evil.example' } });
    expect(get.status).toBe(403);
    await get.arrayBuffer();
    expect(n.exchange.peers()).toEqual([]);
    expect(await post(n.port, table)).toBe(200);
    expect(n.exchange.peers()).toHaveLength(1);
  });
});
