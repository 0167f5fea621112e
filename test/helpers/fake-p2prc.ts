import http from 'node:http';
import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { goFileUpload } from '../../src/node/multipart.js';

/**
 * A fake P2PRC (Go) node, built from its source at f949475 (a real one cannot be built here: its
 * go.mod needs Go 1.25). Routes and replies as server/server.go registers them on gin; the table
 * logic is a line-by-line port of p2p/iptable.go (ReadIpTable, RemoveDuplicates) and p2p/speedtest.go
 * (SpeedTestUpdatedIPTable, SpeedTest with p2p/testingMetrics.go's PingTest). Its multipart parsing
 * is undici's (Response.formData), independent of p2prc's own parser, fed what Go's reader would read.
 */

/** p2p.IpAddress: the only fields a Go node keeps when it decodes an entry. */
export const GO_FIELDS = [
  'Name',
  'MachineUsername',
  'IPV4',
  'IPV6',
  'Latency',
  'Download',
  'Upload',
  'ServerPort',
  'UDPServerPort',
  'BareMetalSSHPort',
  'NAT',
  'EscapeImplementation',
  'ProxyServer',
  'UnSafeMode',
  'PublicKey',
  'CustomInformation',
] as const;
export type GoEntry = Record<(typeof GO_FIELDS)[number], string | number | boolean>;
const ZERO: GoEntry = {
  Name: '',
  MachineUsername: '',
  IPV4: '',
  IPV6: '',
  Latency: 0,
  Download: 0,
  Upload: 0,
  ServerPort: '',
  UDPServerPort: '',
  BareMetalSSHPort: '',
  NAT: false,
  EscapeImplementation: '',
  ProxyServer: false,
  UnSafeMode: false,
  PublicKey: '',
  CustomInformation: '',
};

/** json.Unmarshal into IpAddresses: unknown fields dropped, wrong types left at zero. */
export function goDecode(text: string): GoEntry[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return [];
  }
  const list = (v as { ip_address?: unknown } | null)?.ip_address;
  if (!Array.isArray(list)) return [];
  return list.map((raw) => {
    const e: GoEntry = { ...ZERO };
    for (const k of GO_FIELDS)
      if (typeof (raw as Record<string, unknown>)?.[k] === typeof ZERO[k]) e[k] = (raw as GoEntry)[k];
    return e;
  });
}

/** p2p/iptable.go RemoveDuplicates. */
export function removeDuplicates(table: GoEntry[]): GoEntry[] {
  const out: GoEntry[] = [];
  for (const e of table) {
    let exists = out.some(
      (k) =>
        (k.IPV4 !== '' && k.IPV4 === e.IPV4 && k.ServerPort === e.ServerPort) || (k.IPV6 !== '' && k.IPV6 === e.IPV6),
    );
    if (e.NAT && e.EscapeImplementation === 'None') exists = true;
    if (!exists) out.push(e);
  }
  return out;
}

export class FakeP2prcNode extends EventEmitter<{ table: [GoEntry[]] }> {
  readonly server = http.createServer((req, res) => void this.route(req, res));
  port = 0;
  table: GoEntry[] = [];
  readonly requests: string[] = [];

  /** SetupServerCurrentMachine's own entry; CurrentPublicIP is loopback here (P2PRC's Test mode says 0.0.0.0). */
  async start(name = 'go-node'): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    this.table = [{ ...ZERO, Name: name, MachineUsername: 'go', IPV4: '127.0.0.1', ServerPort: String(this.port) }];
    return this;
  }

  url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** ReadIpTable: the file, plus this machine with EscapeImplementation "None", deduplicated. */
  readIpTable(): GoEntry[] {
    return removeDuplicates([
      ...this.table.map((e) => ({ ...e })),
      {
        ...ZERO,
        Name: this.table[0]!.Name,
        IPV4: '127.0.0.1',
        ServerPort: String(this.port),
        EscapeImplementation: 'None',
      },
    ]);
  }

  /** SpeedTestUpdatedIPTable, CustomInformation quirk included, then SpeedTest (ping, write). */
  async speedTestUpdated(incoming: GoEntry[]): Promise<void> {
    const ip = [...incoming];
    for (const target of this.readIpTable()) {
      let exists = false;
      for (const k of incoming) {
        target.CustomInformation = k.CustomInformation;
        if ((k.IPV4 === target.IPV4 && target.NAT) || (target.IPV6 !== '' && k.IPV6 === target.IPV6)) {
          exists = true;
          break;
        }
      }
      if (!exists) ip.push(target);
    }
    const alive: GoEntry[] = [];
    for (const e of ip) if (await pingTest(e)) alive.push(e);
    this.table = removeDuplicates(alive);
    this.emit('table', this.table);
  }

  /** client/clientIPTable UpdateIpTable: POST our table to a node, merge its answer. */
  async updateFrom(base: string): Promise<void> {
    const upload = goFileUpload(
      'json',
      '/tmp/P2PRC/p2p/iptable/ip_table.json',
      Buffer.from(JSON.stringify({ ip_address: this.table }, null, 1)),
    );
    const res = await fetch(`${base}/IpTable`, {
      method: 'POST',
      headers: { 'content-type': upload.contentType },
      body: upload.body,
      signal: AbortSignal.timeout(10_000),
    });
    const received = goDecode(await res.text());
    if (received.length > 0) await this.speedTestUpdated(received);
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    this.requests.push(`${req.method} ${path}`);
    if (req.method === 'GET' && path === '/server_info')
      return json(res, { Hostname: 'go-host', Platform: 'debian', CPU: 'fake', RAM: 1024, Disk: 2048, GPU: null });
    if (req.method === 'POST' && path === '/IpTable') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      // Go's mime/multipart stops at the first close delimiter; undici rejects anything after it, and
      // P2PRC's own client writes it twice. So cut there, as Go reads it.
      const type = req.headers['content-type'] ?? '';
      const close = Buffer.from(`--${/boundary=([^;\s]+)/.exec(type)?.[1] ?? ''}--`);
      const raw = Buffer.concat(chunks);
      const end = raw.indexOf(close);
      const form = await new Response(end < 0 ? raw : raw.subarray(0, end + close.length + 2), {
        headers: { 'content-type': type },
      }).formData();
      const file = form.get('json');
      const text = typeof file === 'string' ? file : await (file as Blob).text();
      await this.speedTestUpdated(goDecode(text));
      return json(res, { ip_address: this.readIpTable() });
    }
    // gin's NoRoute answer.
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('404 page not found');
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}

/** p2p/testingMetrics.go PingTest: three GETs of /server_info, each must be HTTP 200 (IPV6 first). */
async function pingTest(e: GoEntry): Promise<boolean> {
  const url = e.IPV6
    ? `http://[${String(e.IPV6)}]:${String(e.ServerPort)}/server_info`
    : `http://${String(e.IPV4)}:${String(e.ServerPort)}/server_info`;
  for (let i = 0; i < 3; i++) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await r.arrayBuffer();
      if (r.status !== 200) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** gin's c.JSON: compact json.Marshal, this content type. */
function json(res: http.ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
