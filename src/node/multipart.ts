import { randomBytes } from 'node:crypto';
import { P2prcError } from '../errors.js';

/**
 * multipart/form-data as P2PRC's Go nodes speak it (pure; no sockets). P2PRC sends its IP table as
 * a file in field "json" (client/clientIPTable/Iptable.go, UploadMultipartFile, using Go's
 * mime/multipart). Parsing is bounded: the caller caps the body size, and parts and part headers
 * are capped here, so a hostile body cannot make us do unbounded work.
 */

export interface MultipartPart {
  name: string;
  filename: string | undefined;
  headers: Record<string, string>;
  body: Buffer;
}

export const MAX_PARTS = 16;
const MAX_PART_HEADER = 8 * 1024;

/** The boundary from a Content-Type header, or E_PROTOCOL naming what is wrong. */
export function boundaryOf(contentType: string | undefined): string {
  const type = (contentType ?? '').trim();
  if (!/^multipart\/form-data\s*;/i.test(type))
    throw new P2prcError('E_PROTOCOL', `expected multipart/form-data, got ${JSON.stringify(type.slice(0, 80))}`);
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(type);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary)
    throw new P2prcError('E_PROTOCOL', 'multipart/form-data without a boundary (RFC 2046 allows 1-70 characters)');
  return boundary;
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split('\r\n')) {
    const i = line.indexOf(':');
    if (i <= 0) throw new P2prcError('E_PROTOCOL', `malformed part header line ${JSON.stringify(line.slice(0, 60))}`);
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return headers;
}

function dispositionParam(disposition: string, key: string): string | undefined {
  // Go's mime/multipart writes name="..." with \ and " escaped by a backslash.
  const m =
    new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, 'i').exec(disposition) ??
    new RegExp(`;\\s*${key}=([^;\\s"]+)`, 'i').exec(disposition);
  return m?.[1]?.replace(/\\(.)/g, '$1');
}

/**
 * Splits a complete multipart body. A preamble before the first delimiter and everything after the
 * close delimiter (the epilogue) are ignored, as RFC 2046 says: Go's UploadMultipartFile closes its
 * writer twice, so P2PRC's bodies end with the close delimiter written twice.
 */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw new P2prcError('E_PROTOCOL', 'multipart body without its boundary');
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === '--') return parts;
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) throw new P2prcError('E_PROTOCOL', 'multipart body ends inside a delimiter line');
    if (body.subarray(at, lineEnd).toString().trim() !== '')
      throw new P2prcError('E_PROTOCOL', 'text after a multipart delimiter');
    const headerEnd = body.indexOf('\r\n\r\n', lineEnd);
    const headerStart = lineEnd + 2;
    if (headerEnd >= 0 && headerEnd < headerStart) throw new P2prcError('E_PROTOCOL', 'multipart part without headers');
    if (headerEnd < 0 || headerEnd - headerStart > MAX_PART_HEADER)
      throw new P2prcError('E_TOO_LARGE', `multipart part headers missing or over ${MAX_PART_HEADER} bytes`);
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next < 0) throw new P2prcError('E_PROTOCOL', 'multipart body is not closed by its boundary');
    if (parts.length >= MAX_PARTS) throw new P2prcError('E_TOO_LARGE', `more than ${MAX_PARTS} multipart parts`);
    const headers = parseHeaders(body.subarray(headerStart, headerEnd).toString('utf8'));
    const disposition = headers['content-disposition'] ?? '';
    if (!/^form-data\s*;/i.test(disposition)) throw new P2prcError('E_PROTOCOL', 'multipart part is not form-data');
    parts.push({
      name: dispositionParam(disposition, 'name') ?? '',
      filename: dispositionParam(disposition, 'filename'),
      headers,
      body: body.subarray(headerEnd + 4, next),
    });
    at = next + 2;
  }
}

/** Go's multipart.NewWriter boundary: 30 random bytes in hex (mime/multipart randomBoundary). */
export function goBoundary(): string {
  return randomBytes(30).toString('hex');
}

function escapeQuotes(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/**
 * The body Go's UploadMultipartFile builds: CreateFormFile(key, path) (headers sorted, so
 * Content-Disposition then Content-Type), the file, then Close() twice (once explicitly, once
 * deferred), which writes the close delimiter twice.
 */
export function goFileUpload(
  field: string,
  filename: string,
  content: Buffer,
  boundary = goBoundary(),
): { contentType: string; body: Buffer } {
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeQuotes(field)}"; filename="${escapeQuotes(filename)}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const close = `\r\n--${boundary}--\r\n`;
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    body: Buffer.concat([Buffer.from(head), content, Buffer.from(close + close)]),
  };
}

/** The `json` file of a P2PRC POST /IpTable body, or E_PROTOCOL saying what is missing. */
export function ipTableFile(body: Buffer, contentType: string | undefined): Buffer {
  const part = parseMultipart(body, boundaryOf(contentType)).find((p) => p.name === 'json');
  if (!part)
    throw new P2prcError(
      'E_PROTOCOL',
      'multipart form has no "json" field (P2PRC sends its IP table as the file in field "json")',
    );
  return part.body;
}
