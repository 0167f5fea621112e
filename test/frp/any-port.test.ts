import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { findFrp } from '../../src/frp/binary.js';
import { FrpPublisher } from '../../src/frp/publisher.js';
import { runHostService } from '../../src/modes/host.js';
import { echoExact, echoServer, freePort, sha256, until } from '../helpers/engine.js';
import { FRP_DIR, FRP_SKIP, frpProcesses } from '../helpers/frp.js';
import { useWorkspace } from '../helpers/workspace.js';

/**
 * A supervised frpc asked for "any" port: remote_port 0 in its config, frps's pick learned through
 * frpc's admin API, then asked for by number (config rewritten, frpc reloaded).
 */
const { tempDir, defer } = useWorkspace();

describe.skipIf(!!FRP_SKIP)(`frpc 0.31.2 with "any" port${FRP_SKIP ? ` — skipped: ${FRP_SKIP}` : ''}`, () => {
  it('publishes the ports frps picked inside allow_ports, and keeps them after pinning', async () => {
    const start = Math.min(await freePort(), 65_000);
    const frps = await runHostService({
      configDir: tempDir('frps-any'),
      engine: 'frp',
      frpBinDir: FRP_DIR,
      controlPort: 0,
      bind: '127.0.0.1',
      token: 'any-port-token',
      allowPorts: `${start}-${start + 19}`,
      noNodeServer: true,
      bootstrap: [],
    });
    const echo = await echoServer();
    const log: string[] = [];
    const p = new FrpPublisher({
      binary: await findFrp('frpc', { binDir: FRP_DIR }),
      serverAddr: '127.0.0.1',
      serverPort: frps.handle.port,
      token: 'any-port-token',
      tls: false,
      hostIsLocal: true,
      waitForServer: false,
      onLog: (l) => log.push(l),
      tunnels: [
        { name: 'web', protocol: 'tcp', localPort: echo, remotePort: 'any' },
        // held before, but outside allow_ports now: frps says "port not allowed", then picks one
        { name: 'old', protocol: 'tcp', localPort: echo, remotePort: 'any', previous: start - 1 },
      ],
    });
    defer(async () => {
      await p.close();
      await frps.close();
      await until(() => frpProcesses().length === 0, 10_000, 'frp to exit');
    });
    const status: string[] = [];
    p.on('status', (s) => status.push(s));
    const moved: number[][] = [];
    p.on('published', (list) => moved.push(list.map((t) => t.remotePort)));
    const published = await p.start();
    expect(status.join('\n')).toContain(`frps refused port ${start - 1} for old`);
    for (const t of published) {
      expect(t.remotePort).toBeGreaterThanOrEqual(start);
      expect(t.remotePort).toBeLessThanOrEqual(start + 19);
      expect(t.publicAddress).toBe(`127.0.0.1:${t.remotePort}`);
    }
    // The config now names those ports: frpc reloaded it and frps gave the same ports back.
    await until(() => log.filter((l) => l.includes('start proxy success')).length >= 4, 10_000, 'the reload');
    expect(log.some((l) => l.includes('success reload conf'))).toBe(true);
    for (const t of published) {
      const payload = randomBytes(32 * 1024);
      expect(await echoExact(t.remotePort, payload)).toBe(sha256(payload));
    }
    expect(moved).toEqual([]);
    expect(p.published()).toEqual(published);
  }, 40_000);
});
