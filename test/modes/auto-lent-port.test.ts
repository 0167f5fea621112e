import http from 'node:http';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runHostService, runNodeService, type HostService } from '../../src/index.js';
import { ipTablePath } from '../../src/store/iptable-file.js';
import { echoExact, echoServer, sha256 } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir, defer } = useWorkspace();

const entry = (port: number, nat: boolean) => ({
  Name: 'go',
  IPV4: '127.0.0.1',
  IPV6: '',
  ServerPort: String(port),
  NAT: nat,
  ProxyServer: false,
  EscapeImplementation: '',
  CustomInformation: '',
});

/** A P2PRC (Go) node's server: GET /FRPPort answers a bare port number, POST /IpTable its own entry; requests are kept. */
async function goNode(lentPort: number, nat: boolean): Promise<{ port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    const self = (server.address() as { port: number }).port;
    if (!nat && (req.url ?? '').startsWith('/FRPPort')) res.end(String(lentPort));
    else if (req.method === 'POST' && req.url === '/IpTable')
      res.end(JSON.stringify({ ip_address: [entry(self, nat)] }));
    else res.writeHead(404).end('404 page not found');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => new Promise((r) => server.close(r)));
  return { port: (server.address() as { port: number }).port, requests };
}

describe('--connect-reverse-proxy auto through a P2PRC node that lends an frp port', () => {
  it('with no token-holding host usable, publishes token-less through a NAT: false Go node', async () => {
    const lender: HostService = await runHostService({
      configDir: tempDir('lender'),
      controlPort: 0,
      bind: '127.0.0.1',
      nodePort: 0,
      open: true,
    });
    defer(() => lender.close());
    const lent = Number(await (await fetch(`http://127.0.0.1:${lender.nodePort}/FRPPort`)).text());
    const go = await goNode(lent, false);
    const behind = tempDir('behind-nat');
    await mkdir(path.dirname(ipTablePath(behind)), { recursive: true });
    // One node behind NAT (lends nothing, never asked) and one Go node that lends a port.
    const natted = await goNode(lent, true);
    await writeFile(
      ipTablePath(behind),
      JSON.stringify({ ip_address: [entry(natted.port, true), entry(go.port, false)] }),
    );

    const echo = await echoServer();
    const status: string[] = [];
    const client = await runNodeService({
      configDir: behind,
      proxy: 'auto',
      expose: [{ name: 'echo', protocol: 'tcp', localPort: echo, remotePort: 'any' }],
      onStatus: (l) => status.push(l),
    });
    defer(() => client.close());

    expect(status.some((l) => /chose reverse proxy .*P2PRC node 127\.0\.0\.1:\d+ lends frp port/.test(l))).toBe(true);
    expect(go.requests).toContain('GET /FRPPort');
    expect(natted.requests.filter((r) => r.includes('FRPPort'))).toHaveLength(0);
    const tunnel = client.published.find((t) => t.name === 'echo')!;
    const payload = Buffer.from('through a lent port, chosen automatically');
    expect(await echoExact(tunnel.remotePort, payload)).toBe(sha256(payload));
  });
});
