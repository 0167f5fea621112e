import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { CLI, startCli } from '../helpers/cli.js';
import { FakeP2prcNode, goDecode } from '../helpers/fake-p2prc.js';
import { parseNodeAddress } from '../../src/node/node-address.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir, defer } = useWorkspace();

async function p2prc(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("--as / --ls: P2PRC's server list, offline on ip_table.json", () => {
  it.each([
    ['203.0.113.5', undefined, { host: '203.0.113.5', port: 8088 }],
    ['203.0.113.5', '9000', { host: '203.0.113.5', port: 9000 }],
    ['203.0.113.5:9000', '9000', { host: '203.0.113.5', port: 9000 }],
    ['[2001:db8::1]:9000', undefined, { host: '2001:db8::1', port: 9000 }],
    ['2001:db8::1', '9001', { host: '2001:db8::1', port: 9001 }],
  ])('parses %s with --p %s', (text, port, expected) => {
    expect(parseNodeAddress(text, port)).toEqual(expected);
  });

  it.each([['a b'], ['1.2.3.4:0'], ['1.2.3.4:99999'], ['[zz::]:1'], ['']])('rejects %j with E_USAGE', (text) => {
    expect(() => parseNodeAddress(text)).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });

  it('--as records a node once, --ls lists it (table and --json), a clash of ports exits 2', async () => {
    const dir = tempDir('ls');
    expect((await p2prc(['--as', '127.0.0.1', '--p', '9001', '--config-dir', dir])).stdout).toMatch(
      /^Added 127\.0\.0\.1:9001 to .*ip_table\.json\n$/,
    );
    expect((await p2prc(['--add-server', '127.0.0.1:9001', '--config-dir', dir])).stdout).toMatch(/already in/);
    const clash = await p2prc(['--as', '127.0.0.1:9001', '--p', '9', '--config-dir', dir]);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/^p2prc: error E_USAGE: two ports/);
    const table = await p2prc(['--ls', '--config-dir', dir]);
    expect(table.stdout.split('\n').slice(0, 2)).toEqual([
      'NAME  ADDRESS    PORT  NAT  ESCAPE  PROXY SERVER',
      '-     127.0.0.1  9001  no   -       no',
    ]);
    const json = JSON.parse((await p2prc(['--list-servers', '--json', '--config-dir', dir])).stdout) as {
      ip_address: unknown[];
    };
    expect(json.ip_address).toEqual(
      goDecode(await readFile(path.join(dir, 'p2p', 'iptable', 'ip_table.json'), 'utf8')),
    );
  });

  it("a node added with --as is exchanged with by a running node (P2PRC's --as then --us)", async () => {
    const dir = tempDir('as');
    const go = await new FakeP2prcNode().start();
    defer(() => go.close());
    await p2prc(['--as', `127.0.0.1:${go.port}`, '--config-dir', dir]);
    const node = startCli(['-s', '--port', '0', '--bind', '127.0.0.1', '--config-dir', dir, '--json']);
    try {
      const started = JSON.parse(await node.waitFor((l) => l.includes('node-started'))) as { port: number };
      // The Go node learned us through P2PRC's own POST /IpTable: it has our entry in its table.
      const signal = AbortSignal.timeout(15_000);
      for (let i = 0; i < 10 && !go.table.some((e) => Number(e.ServerPort) === started.port); i++)
        await once(go, 'table', { signal });
      expect(go.table.map((e) => Number(e.ServerPort))).toContain(started.port);
      expect(go.requests).toContain('POST /IpTable');
    } finally {
      await node.stop();
    }
  }, 30_000);
});
