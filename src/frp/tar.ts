import { gunzipSync } from 'node:zlib';
import { P2prcError } from '../errors.js';

export interface TarEntry {
  name: string;
  mode: number;
  type: 'file' | 'dir' | 'other';
  data: Buffer;
}

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? raw.length : nul).toString('utf8');
}

function octal(block: Buffer, start: number, length: number, what: string): number {
  const text = field(block, start, length).trim();
  if (!/^[0-7]*$/.test(text)) throw new P2prcError('E_DOWNLOAD', `archive has a corrupt ${what} field`);
  return text ? parseInt(text, 8) : 0;
}

/**
 * Reads a ustar/GNU tar (pure; enough for frp's release archives): regular files, directories,
 * GNU long names. Checksums are verified so a truncated or corrupt archive is refused, not half-read.
 */
export function readTar(tar: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let longName: string | undefined;
  for (let offset = 0; offset + 512 <= tar.length;) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) return entries;
    const stored = octal(header, 148, 8, 'checksum');
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
    if (sum !== stored)
      throw new P2prcError('E_DOWNLOAD', 'archive header checksum mismatch (corrupt or truncated download)');
    const size = octal(header, 124, 12, 'size');
    const typeflag = String.fromCharCode(header[156]!);
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    const dataStart = offset + 512;
    if (dataStart + size > tar.length) throw new P2prcError('E_DOWNLOAD', `archive is truncated inside ${name}`);
    const data = tar.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / 512) * 512;
    if (typeflag === 'L') {
      longName = field(data, 0, data.length);
      continue;
    }
    const type = typeflag === '0' || typeflag === '\0' ? 'file' : typeflag === '5' ? 'dir' : 'other';
    entries.push({ name, mode: octal(header, 100, 8, 'mode'), type, data });
  }
  throw new P2prcError('E_DOWNLOAD', 'archive ends without its end-of-archive marker (truncated)');
}

export function readTarGz(archive: Buffer): TarEntry[] {
  let tar: Buffer;
  try {
    tar = gunzipSync(archive);
  } catch (err) {
    throw new P2prcError('E_DOWNLOAD', `archive is not valid gzip: ${(err as Error).message}`, { cause: err });
  }
  return readTar(tar);
}

/** Builds a tar (for tests and fixtures): ustar headers, files only. */
export function writeTar(files: Array<{ name: string; data: Buffer; mode?: number }>): Buffer {
  const blocks: Buffer[] = [];
  for (const f of files) {
    const h = Buffer.alloc(512);
    h.write(f.name, 0, 100, 'utf8');
    h.write(`${(f.mode ?? 0o755).toString(8).padStart(7, '0')}\0`, 100, 'latin1');
    h.write('0000000\0', 108, 'latin1');
    h.write('0000000\0', 116, 'latin1');
    h.write(`${f.data.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
    h.write(
      `${Math.floor(Date.now() / 1000)
        .toString(8)
        .padStart(11, '0')}\0`,
      136,
      'latin1',
    );
    h.write('        ', 148, 'latin1');
    h[156] = 0x30;
    h.write('ustar\0', 257, 'latin1');
    h.write('00', 263, 'latin1');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    blocks.push(h, f.data, Buffer.alloc((512 - (f.data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
