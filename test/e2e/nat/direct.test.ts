import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { killAll, startCli, type Running } from '../../helpers/cli.js';
import { canUseNetns } from './netns.js';
import { createDualNatBed, type DualNatBed } from './dual-bed.js';
// @ts-expect-error: a plain .mjs fixture, also run as a program inside the namespaces
import { blobSha } from '../../fixtures/blob.mjs';

const skipReason = await canUseNetns();
if (skipReason) console.warn(`direct-path NAT bed skipped: ${skipReason}`);

const BLOB = path.resolve(import.meta.dirname, '..', '..', 'fixtures', 'blob.mjs');
const SIZE = 64 * 1024 * 1024;
const SHA: string = blobSha(SIZE);
const TOKEN = 'direct-nat-token';
const SECRET = 'direct-nat-secret';
const fixtures: Array<ReturnType<typeof spawn>> = [];
const dirs: string[] = [];
const beds: DualNatBed[] = [];

afterAll(async () => {
  await killAll();
  for (const f of fixtures) f.kill('SIGKILL');
  for (const b of beds) await b.destroy();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** The blob service inside the owner's namespace; resolves with its port. */
function blobServer(bed: DualNatBed): Promise<number> {
  const child = spawn('ip', ['netns', 'exec', bed.ns.owner, process.execPath, BLOB, 'serve', String(SIZE)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  fixtures.push(child);
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on(
      'line',
      (l) => l.startsWith('listening ') && resolve(Number(l.split(' ')[1])),
    );
    child.once('exit', (code) => reject(new Error(`blob server exited with ${code}`)));
  });
}

async function fetchBlob(bed: DualNatBed, port: number): Promise<{ bytes: number; sha: string }> {
  return JSON.parse(await bed.exec(bed.ns.visitor, process.execPath, BLOB, 'fetch', String(port))) as {
    bytes: number;
    sha: string;
  };
}

async function tmp(tag: string): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), `p2prc-dnat-${tag}-`));
  dirs.push(d);
  return d;
}

/** Host on the public side, blob service + owner behind NAT A; returns what a visitor needs. */
async function world(symmetric?: 'visitor'): Promise<{ bed: DualNatBed; host: Running; hostAddr: string }> {
  const bed = await createDualNatBed(symmetric ? { symmetric } : {});
  beds.push(bed);
  const host = startCli(
    [
      '-s',
      '--reverse-proxy',
      '--bind',
      '0.0.0.0',
      '--control-port',
      '7000',
      '--public-host',
      bed.hostIp,
      '--token',
      TOKEN,
      '--heartbeat',
      '1',
      '--port',
      '0',
      '--config-dir',
      await tmp('h'),
    ],
    {},
    bed.ns.public,
  );
  await host.waitFor((l) => l.includes('Client command:'));
  const hostAddr = `${bed.hostIp}:7000`;
  const blobPort = await blobServer(bed);
  const owner = startCli(
    [
      '-s',
      '--connect-reverse-proxy',
      hostAddr,
      '--token',
      TOKEN,
      '--service',
      'db',
      '--secret',
      SECRET,
      '--expose',
      String(blobPort),
      '--heartbeat',
      '1',
      '--config-dir',
      await tmp('o'),
    ],
    {},
    bed.ns.owner,
  );
  await owner.waitFor((l) => l.startsWith('Service: db'), 30_000);
  return { bed, host, hostAddr };
}

function visit(bed: DualNatBed, hostAddr: string, dir: string, extra: string[] = []): Running {
  return startCli(
    [
      '--visit',
      'db',
      '--host',
      hostAddr,
      '--token',
      TOKEN,
      '--secret',
      SECRET,
      '--local-port',
      '0',
      '--config-dir',
      dir,
      ...extra,
    ],
    {},
    bed.ns.visitor,
  );
}

const visitingPort = (line: string) => Number(/127\.0\.0\.1:(\d+)$/.exec(line)![1]);
/**
 * What the host relayed of the service: its log lines for visits, less the one handshake each direct
 * attempt runs through the host to key its signalling (a connect and a close of under 1 KB).
 */
const relayLines = (host: Running) => {
  const closed = host.stderr.filter((l) => l.includes('relayed visit closed'));
  const connected = host.stderr.filter((l) => l.includes('connected to service'));
  const handshakes = closed.filter((l) => Number(/, (\d+) bytes/.exec(l)?.[1] ?? Infinity) < 1024);
  return [...connected.slice(handshakes.length), ...closed.filter((l) => !handshakes.includes(l))];
};

describe.skipIf(!!skipReason)(`direct paths between two NATs${skipReason ? ` — skipped: ${skipReason}` : ''}`, () => {
  it('cone NATs: Path: direct, 64 MiB byte-identical, no service bytes on the host, and new connections after the host stopped', async () => {
    const { bed, host, hostAddr } = await world();
    const dir = await tmp('v');
    const visitor = visit(bed, hostAddr, dir);
    const pathLine = await visitor.waitFor((l) => l.startsWith('Path: '), 20_000);
    // the owner's packets arrive from NAT A's outside address: the path does not touch the host
    expect(pathLine).toMatch(new RegExp(`^Path: direct \\(${bed.natA.replaceAll('.', '\\.')}:\\d+\\)$`));
    const port = visitingPort(await visitor.waitFor((l) => l.startsWith('Visiting: ')));
    expect(visitor.stdout.filter((l) => l.startsWith('Path: '))).toHaveLength(1);
    expect(await fetchBlob(bed, port)).toMatchObject({ bytes: SIZE, sha: SHA });
    expect(relayLines(host)).toEqual([]);
    const rpm = JSON.parse(
      await bed.exec(
        bed.ns.visitor,
        process.execPath,
        path.resolve('bin', 'p2prc.js'),
        '--view-rpm',
        '--json',
        '--config-dir',
        dir,
      ),
    ) as { mappings: Array<{ kind: string; path?: string }> };
    expect(rpm.mappings.find((m) => m.kind === 'visitor')?.path).toBe('direct');
    await host.stop('SIGKILL');
    expect(await fetchBlob(bed, port)).toMatchObject({ bytes: SIZE, sha: SHA });
  }, 180_000);

  it('symmetric NAT: Path: relayed within the fallback bound, the same download through the host; --direct only exits 8', async () => {
    const { bed, host, hostAddr } = await world('visitor');
    const visitor = visit(bed, hostAddr, await tmp('v'));
    expect(await visitor.waitFor((l) => l.startsWith('Path: '), 20_000)).toMatch(/^Path: relayed \(.+\)$/);
    const port = visitingPort(await visitor.waitFor((l) => l.startsWith('Visiting: ')));
    expect(await fetchBlob(bed, port)).toMatchObject({ bytes: SIZE, sha: SHA });
    // the host counted the download among its relayed bytes (the first, small visit is the secret probe)
    await host.waitFor((l) => Number(/relayed visit closed, (\d+) bytes/.exec(l)?.[1] ?? 0) > SIZE, 10_000, 'stderr');
    const only = visit(bed, hostAddr, await tmp('v2'), ['--direct', 'only']);
    expect(await only.exited).toBe(8);
    expect(only.stderr.join('\n')).toMatch(/E_NO_DIRECT/);
  }, 180_000);
});
