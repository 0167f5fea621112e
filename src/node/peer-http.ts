import { P2prcError } from '../errors.js';
import { goFileUpload } from './multipart.js';
import type { IpTable } from './iptable.js';

/** A node server's base URL from "host:port", "[v6]:port" or a URL. */
export function nodeBase(node: string): string {
  const base = /^https?:\/\//.test(node) ? node : `http://${node}`;
  return base.replace(/\/+$/, '').replace(/\/ip_table$/, '');
}

/**
 * One HTTP request bounded in time and in body size (the size is checked while streaming, before
 * buffering more). Resolves with the status and the body for any status; rejects on I/O failure.
 */
export async function requestCapped(url: string, init: RequestInit, timeoutMs: number, maxBytes: number): Promise<{ status: number; body: string }> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const timedOut = (err as Error).name === 'TimeoutError';
    throw new P2prcError(timedOut ? 'E_TIMEOUT' : 'E_UNREACHABLE', `${init.method ?? 'GET'} ${url}: ${timedOut ? `no answer within ${timeoutMs} ms` : (err as Error).message}`, { cause: err });
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new P2prcError('E_TOO_LARGE', `body of ${declared} bytes exceeds ${maxBytes}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.length;
    if (size > maxBytes) throw new P2prcError('E_TOO_LARGE', `body exceeds ${maxBytes} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return { status: res.status, body: Buffer.concat(chunks).toString('utf8') };
}

/**
 * P2PRC's exchange as its Go client does it (client/clientIPTable/Iptable.go, UpdateIpTable): our
 * table as the file in form field "json" of a POST to /IpTable; the answer is the peer's table.
 * The file is indented as P2PRC's WriteIpTable writes ip_table.json (json.MarshalIndent, one space).
 */
export function ipTableUpload(table: IpTable): { body: Buffer; contentType: string } {
  return goFileUpload('json', 'ip_table.json', Buffer.from(JSON.stringify(table, null, 1)));
}
