import { describe, expect, it } from 'vitest';
import http from 'node:http';
import { once } from 'node:events';
import { runHostService, runNodeService, type HostService, type NodeService } from '../../src/index.js';
import { echoExact, echoServer, sha256 } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir, defer } = useWorkspace();

describe("escaping NAT through a node that lends an frp port (P2PRC's /FRPPort)", () => {
  it('with no token, a node server address that lends a port is published through, token-less', async () => {
    const host: HostService = await runHostService({
      configDir: tempDir('lender'),
      controlPort: 0,
      bind: '127.0.0.1',
      nodePort: 0,
      open: true,
    });
    defer(() => host.close());
    const echo = await echoServer();
    const status: string[] = [];
    const client: NodeService = await runNodeService({
      configDir: tempDir('behind-nat'),
      proxy: { host: '127.0.0.1', port: host.nodePort! },
      expose: [{ name: 'echo', protocol: 'tcp', localPort: echo, remotePort: 'any' }],
      onStatus: (l) => status.push(l),
    });
    defer(() => client.close());
    expect(status.some((l) => /is a P2PRC node lending frp port \d+: publishing there without a token/.test(l))).toBe(
      true,
    );
    const tunnel = client.published.find((t) => t.name !== 'node')!;
    expect(tunnel).toBeDefined();
    const payload = Buffer.from('through the lent port');
    expect(await echoExact(tunnel.remotePort, payload)).toBe(sha256(payload));
  });

  it('a node server that lends nothing (403) keeps the "no token" error', async () => {
    const server = http.createServer((_req, res) => res.writeHead(403).end('no frp port here\n'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    defer(() => new Promise((r) => server.close(r)));
    const port = (server.address() as { port: number }).port;
    await expect(
      runNodeService({ configDir: tempDir('no-lender'), proxy: { host: '127.0.0.1', port } }),
    ).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(/no token/) });
  });
});
