import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeServer } from '../../src/node/node-server.js';
import { selfEntry } from '../../src/node/iptable.js';
import { goFileUpload, ipTableFile, parseMultipart } from '../../src/node/multipart.js';
import type { PeerEntry } from '../../src/node/validate.js';
import { goDecode } from '../helpers/fake-p2prc.js';
import { useWorkspace } from '../helpers/workspace.js';

/**
 * P2PRC's requests byte for byte. upload-request.bin is what Go's net/http sent when
 * test/fixtures/p2prc-go/main.go (our own Go program with P2PRC's wire behaviour for the IP table
 * upload; `go run main.go capture`) posted ip_table.json: chunked transfer encoding, 60-hex boundary
 * and doubled close delimiter included.
 */
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'p2prc-go');
const captured = readFileSync(path.join(FIXTURES, 'upload-request.bin'));
const goTable = readFileSync(path.join(FIXTURES, 'ip_table.json'));

/** Undoes chunked transfer encoding of a captured request; returns head and body. */
function splitCaptured(raw: Buffer): { head: string; body: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end).toString();
  const chunks: Buffer[] = [];
  let at = end + 4;
  for (let guard = 0; guard < 1000; guard++) {
    const lineEnd = raw.indexOf('\r\n', at);
    const size = parseInt(raw.subarray(at, lineEnd).toString(), 16);
    if (size === 0) break;
    chunks.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return { head, body: Buffer.concat(chunks) };
}

async function rawRequest(port: number, bytes: Buffer): Promise<{ status: number; headers: string; body: string }> {
  const socket = net.connect(port, '127.0.0.1');
  try {
    await once(socket, 'connect');
    socket.end(bytes);
    const parts: Buffer[] = [];
    socket.on('data', (d: Buffer) => parts.push(d));
    await once(socket, 'end');
    const text = Buffer.concat(parts).toString();
    const [headers, body] = [text.slice(0, text.indexOf('\r\n\r\n')), text.slice(text.indexOf('\r\n\r\n') + 4)];
    return { status: Number(headers.split(' ')[1]), headers, body };
  } finally {
    socket.destroy();
  }
}

const { defer } = useWorkspace();
let node: NodeServer | undefined;

async function startNode(learned: Array<{ entries: PeerEntry[]; source: string }> = []): Promise<NodeServer> {
  const reverseProxy = {
    ControlPort: 7000,
    Fingerprint: 'AB:CD',
    Tls: true,
    Engine: 'native',
    Open: false,
    AcceptsClients: true,
    FreePorts: 9,
    Clients: 1,
    Version: '0.1.0',
  };
  node = new NodeServer(
    () =>
      ({
        ...selfEntry({ serverPort: node!.port, advertise: '127.0.0.1', proxyServer: true, reverseProxy }),
        ReverseProxy: reverseProxy,
      }) as PeerEntry,
    () => ({ name: 'p2prc', version: 'test', role: 'reverse-proxy' }),
    () => [],
    { learn: (entries, source) => learned.push({ entries, source }) },
  );
  const started = node;
  defer(() => started.close());
  await started.listen(0, '127.0.0.1');
  return started;
}

describe('P2PRC conformance: its requests replayed byte for byte', () => {
  it('our POST /IpTable body is byte-identical to the one Go built (same boundary, doubled close delimiter)', () => {
    const { head, body } = splitCaptured(captured);
    expect(head).toMatch(/^POST \/IpTable HTTP\/1\.1\r\n/);
    expect(head).toContain('Transfer-Encoding: chunked');
    const boundary = /boundary=([0-9a-f]{60})\r\n/.exec(head)![1]!;
    const ours = goFileUpload('json', '/tmp/P2PRC/p2p/iptable/ip_table.json', goTable, boundary);
    expect(ours.body.equals(body)).toBe(true);
    expect(head).toContain(`Content-Type: ${ours.contentType}\r\n`);
    expect(ipTableFile(body, ours.contentType).equals(goTable)).toBe(true);
    expect(parseMultipart(body, boundary)).toHaveLength(1); // the second close delimiter is epilogue
  });

  it('a p2prc node answers the replayed Go request with its table, and learns the Go table', async () => {
    const learned: Array<{ entries: PeerEntry[]; source: string }> = [];
    const n = await startNode(learned);
    const res = await rawRequest(n.port, captured);
    expect(res.status).toBe(200);
    expect(res.headers.toLowerCase()).toContain('content-type: application/json');
    // What P2PRC's UpdateIpTable does with the answer: json.Unmarshal into IpAddresses.
    const decoded = goDecode(res.body);
    // A host that is not --open lends no frp port: NAT true keeps Go's MapPort from asking it.
    expect(decoded[0]).toMatchObject({ IPV4: '127.0.0.1', ServerPort: String(n.port), NAT: true, ProxyServer: true });
    expect(JSON.parse(String(decoded[0]!.CustomInformation))).toMatchObject({
      For: `127.0.0.1:${n.port}`,
      ReverseProxy: { ControlPort: 7000 },
    });
    expect(learned).toHaveLength(1);
    expect(learned[0]!.entries.map((e) => e.ServerPort)).toEqual(['8088', '40123', '8089']);
    expect(learned[0]!.entries[1]).toMatchObject({
      Name: 'behind-nat-1',
      Latency: 1_500_000,
      EscapeImplementation: 'FRP',
      CustomInformation: 'free text',
    });
  });

  it("P2PRC's liveness test (GET /server_info, HTTP 200) sees SysInfo keys with real values", async () => {
    const n = await startNode();
    const res = await rawRequest(
      n.port,
      Buffer.from(
        `GET /server_info HTTP/1.1\r\nHost: 127.0.0.1:${n.port}\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n`,
      ),
    );
    expect(res.status).toBe(200);
    const info = JSON.parse(res.body) as Record<string, unknown>;
    expect(Object.keys(info).slice(0, 6)).toEqual(['Hostname', 'Platform', 'CPU', 'RAM', 'Disk', 'GPU']);
    expect(info.RAM).toBeGreaterThan(0);
    expect(info.Disk).toBeGreaterThan(0);
    expect(info).toMatchObject({ GPU: null, name: 'p2prc', role: 'reverse-proxy' });
  });

  it.each([
    ['no json field', goFileUpload('other', 'x.json', goTable), 400, /no "json" field/],
    ['not JSON', goFileUpload('json', 'x.json', Buffer.from('{nope')), 400, /not JSON/],
    ['not a table', goFileUpload('json', 'x.json', Buffer.from('[1,2]')), 400, /IP table rejected/],
    ['too large', goFileUpload('json', 'x.json', Buffer.alloc(2 * 1024 * 1024, 0x20)), 413, /E_TOO_LARGE/],
  ])(
    'a bad POST /IpTable (%s) is refused with its status and a one-line reason, the node lives on',
    async (_name, upload, status, reason) => {
      const n = await startNode();
      const res = await fetch(`http://127.0.0.1:${n.port}/IpTable`, {
        method: 'POST',
        headers: { 'content-type': upload.contentType },
        body: upload.body,
      });
      expect(res.status).toBe(status);
      const text = await res.text();
      expect(text).toMatch(reason);
      expect(text).not.toContain('\n');
      expect((await fetch(`http://127.0.0.1:${n.port}/server_info`)).status).toBe(200);
    },
  );

  it('a node that is not a host refuses GET /FRPPort with 403 and one line', async () => {
    const n = await startNode();
    const res = await fetch(`http://127.0.0.1:${n.port}/FRPPort?udp=true`);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/^E_NOT_AVAILABLE: [^\n]+$/);
  });
});

const goMissing =
  spawnSync('go', ['version']).status === 0 ? undefined : 'no Go toolchain on PATH (apt-get install golang-go)';
if (goMissing) console.warn(`live Go client test skipped: ${goMissing}`);

describe.skipIf(!!goMissing)(
  `a Go client speaking P2PRC's IP table exchange against a p2prc node${goMissing ? ` — skipped: ${goMissing}` : ''}`,
  () => {
    it('a streamed multipart POST /IpTable from real Go net/http, reply decoded by json.Unmarshal without error', async () => {
      const learned: Array<{ entries: PeerEntry[]; source: string }> = [];
      const n = await startNode(learned);
      const env = {
        ...process.env,
        GOCACHE: process.env.GOCACHE ?? '/tmp/p2prc-gocache',
        GOPATH: process.env.GOPATH ?? '/tmp/p2prc-gopath',
        GOPROXY: 'off',
        GOFLAGS: '',
      };
      // Asynchronously: the node answering Go runs in this very process.
      const { stdout: out } = await promisify(execFile)(
        'go',
        ['run', 'main.go', 'upload', `http://127.0.0.1:${n.port}/IpTable`, 'ip_table.json'],
        { cwd: FIXTURES, env, timeout: 120_000 },
      );
      const result = JSON.parse(out) as {
        status: number;
        table: { ip_address: Array<Record<string, unknown>> };
        unmarshalError: string;
      };
      expect(result.status).toBe(200);
      expect(result.unmarshalError).toBe('<nil>');
      expect(result.table.ip_address[0]).toMatchObject({
        IPV4: '127.0.0.1',
        ServerPort: String(n.port),
        NAT: true,
        ProxyServer: true,
      });
      expect(learned[0]!.entries).toHaveLength(3);
    });
  },
);
