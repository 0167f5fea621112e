import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { detectEngine } from '../../src/modes/publishers.js';
import { FRP_DIR, FRP_SKIP } from '../helpers/frp.js';
import { freePort, host, listen, until } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir, track, defer } = useWorkspace();

/** A port that accepts and says nothing, whatever it is told. */
async function silentPort(): Promise<{ port: number; heard: () => number }> {
  let bytes = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => (bytes += d.length));
  });
  defer(() => (sockets.forEach((s) => s.destroy()), server.close()));
  return { port: await listen(server), heard: () => bytes };
}

describe('--engine auto', () => {
  it('a port that accepts and stays silent is not taken for frps, pinned or not', async () => {
    const silent = await silentPort();
    expect(await detectEngine('127.0.0.1', silent.port, true, 500)).toMatchObject({ engine: 'native', tls: true });
    expect(await detectEngine('127.0.0.1', silent.port, false, 500)).toMatchObject({ engine: 'native', tls: false });
    const fp = 'AB:'.repeat(31) + 'AB';
    expect(await detectEngine('127.0.0.1', silent.port, true, 500, fp)).toMatchObject({
      engine: 'native',
      tls: true,
      reason: expect.stringContaining('pinned'),
    });
  });

  it('with a pin, a p2prc host that only speaks plaintext is not downgraded to', async () => {
    const h = await host({ tls: false });
    expect(await detectEngine('127.0.0.1', h.port, true, 1_000)).toMatchObject({ engine: 'native', tls: false });
    expect(await detectEngine('127.0.0.1', h.port, true, 1_000, 'AB:'.repeat(31) + 'AB')).toMatchObject({
      engine: 'native',
      tls: true,
    });
  });

  it.skipIf(!!FRP_SKIP)(
    `a stock frps 0.31.2 identifies itself and is chosen${FRP_SKIP ? ` — skipped: ${FRP_SKIP}` : ''}`,
    async () => {
      const dir = tempDir('detect');
      const port = await freePort();
      await writeFile(
        path.join(dir, 'frps.ini'),
        `[common]\nbind_addr = 127.0.0.1\nbind_port = ${port}\ntoken = frps-token\nlog_file = console\n`,
      );
      const frps = track(
        spawn(path.join(FRP_DIR, 'frps'), ['-c', path.join(dir, 'frps.ini')], { stdio: ['ignore', 'pipe', 'pipe'] }),
      );
      const log: string[] = [];
      frps.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
      await until(() => log.join('').includes('start frps success'), 10_000, 'frps to start');
      expect(await detectEngine('127.0.0.1', port, true, 2_000)).toMatchObject({ engine: 'frp' });
    },
    30_000,
  );
});
