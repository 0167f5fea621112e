import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { client, until } from '../helpers/engine.js';
import { adminJson, aliceWeb, getOnce, hostWithAdmin, metricsText } from '../helpers/admin.js';
import { clientAdminSource, startAdmin } from '../../src/admin/attach.js';
import { connect } from '../../src/index.js';
import type { AdminEvent, TunnelView, ClientView } from '../../src/admin/model.js';
import type { StrangerRefusals } from '../../src/admin/events.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir, defer } = useWorkspace();

describe('admin API on a real host with a real client', () => {
  it('counts three requests as exactly three visitor connections, on the host and on the client', async () => {
    const { h, admin } = await hostWithAdmin();
    const { c, web, t } = await aliceWeb(h);
    const cAdmin = await startAdmin({
      source: clientAdminSource({
        name: 'alice',
        engine: 'native',
        hostAddress: () => `127.0.0.1:${h.port}`,
        published: () => c.traffic(),
        connection: () => c.connection(),
      }),
      token: h.token,
      flags: { port: 0 },
      configDir: tempDir('admin'),
    });
    defer(() => cAdmin.close());

    for (let i = 0; i < 3; i++) expect((await getOnce(t.remotePort, `/r${i}`)).body).toBe(`hello /r${i}`);

    const { tunnels } = await adminJson<{ tunnels: TunnelView[] }>(admin.url, h.token, '/api/tunnels');
    expect(tunnels).toHaveLength(1);
    expect(tunnels[0]).toMatchObject({
      name: 'web',
      owner: 'alice',
      publicPort: t.remotePort,
      protocol: 'tcp',
      engine: 'native',
      online: true,
      visitorsTotal: 3,
    });
    await until(
      async () =>
        (await adminJson<{ tunnels: TunnelView[] }>(admin.url, h.token, '/api/tunnels')).tunnels[0]!.visitorsNow === 0,
      10_000,
      'visitors closed',
    );
    const after = (await adminJson<{ tunnels: TunnelView[] }>(admin.url, h.token, '/api/tunnels')).tunnels[0]!;
    // Each request line is "GET /rN HTTP/1.1" plus headers: more than 3 x 16 bytes in; each reply carries "hello /rN".
    expect(after.bytesIn).toBeGreaterThan(3 * 16);
    expect(after.bytesOut).toBeGreaterThan(3 * 'hello /r0'.length);

    const text = await metricsText(admin.url, h.token);
    expect(text).toContain(`p2prc_visitor_connections_total{tunnel="web",port="${t.remotePort}"} 3`);
    expect(text).toContain(`p2prc_visitor_connections{tunnel="web",port="${t.remotePort}"} 0`);
    expect(text).toContain('p2prc_connected_clients 1');
    expect(text).toContain('p2prc_tunnels{protocol="tcp",engine="native"} 1');
    expect(text).toContain('p2prc_logins_accepted_total 1');
    expect(text).toMatch(/^p2prc_data_pool_size \d+$/m);

    const { clients } = await adminJson<{ clients: ClientView[] }>(admin.url, h.token, '/api/clients');
    expect(clients).toEqual([
      expect.objectContaining({ name: 'alice', tunnels: 1, bytesIn: after.bytesIn, bytesOut: after.bytesOut }),
    ]);
    expect(clients[0]!.address).toMatch(/^127\.0\.0\.1:\d+$/);

    // The client's own admin API sees the same three visitors from its side. They arrive as streams of
    // one multiplexed data connection: counted when accepted, their bytes read from the local sockets,
    // which carry exactly what the host's public side carried.
    const mineNow = async () =>
      await adminJson<{ role: string; tunnels: TunnelView[] }>(cAdmin.url, h.token, '/api/tunnels');
    await until(async () => (await mineNow()).tunnels[0]!.visitorsNow === 0, 10_000, 'client visitors closed');
    const mine = await mineNow();
    expect(mine.role).toBe('client');
    expect(mine.tunnels[0]).toMatchObject({
      name: 'web',
      owner: 'self',
      publicPort: t.remotePort,
      target: `127.0.0.1:${web}`,
      visitorsTotal: 3,
    });
    expect(mine.tunnels[0]).toMatchObject({ bytesIn: after.bytesIn, bytesOut: after.bytesOut });

    const { events } = await adminJson<{ events: AdminEvent[] }>(admin.url, h.token, '/api/events');
    expect(events.map((e) => e.type)).toEqual(['login', 'tunnel-opened']);
  });

  it('records refusals with their reason and the peer address: auth and port_taken', async () => {
    const { h, admin } = await hostWithAdmin();
    const logs: string[] = [];
    h.host.on('log', (l) => logs.push(`${l.level}: ${l.message}`));

    const bad = connect({
      host: '127.0.0.1',
      port: h.port,
      token: 'wrong',
      fingerprint: h.fingerprint,
      tunnels: [{ name: 'x', localPort: 1 }],
      exitOnLoginFailure: true,
    });
    defer(() => bad.close());
    await expect(bad.ready).rejects.toMatchObject({ code: 'E_AUTH' });

    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    defer(() => new Promise((r) => blocker.close(r)));
    const taken = (blocker.address() as net.AddressInfo).port;
    const c = client(h, {
      name: 'bob',
      tunnels: [{ name: 'fixed', localPort: 1, remotePort: taken }],
      exitOnLoginFailure: true,
    });
    await expect(c.ready).rejects.toMatchObject({ code: 'E_PORT_TAKEN' });

    await until(
      async () =>
        (await adminJson<{ events: AdminEvent[] }>(admin.url, h.token, '/api/events')).events.filter(
          (e) => e.type === 'refused',
        ).length >= 1,
      10_000,
      'the refused tunnel',
    );
    const all = await adminJson<{ events: AdminEvent[]; strangers: StrangerRefusals[] }>(
      admin.url,
      h.token,
      '/api/events',
    );
    // The bad login came before authentication: counted per reason, not listed.
    expect(all.strangers).toMatchObject([{ reason: 'auth', count: 1 }]);
    expect(all.strangers[0]!.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    const refused = all.events.filter((e) => e.type === 'refused');
    expect(refused.map((e) => e.reason)).toEqual(['port_taken']);
    expect(refused[0]!.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(refused[0]!.client).toBe('bob');
    const text = await metricsText(admin.url, h.token);
    expect(text).toContain('p2prc_logins_refused_total{reason="auth"} 1');
    expect(text).toContain('p2prc_logins_refused_total{reason="port_taken"} 1');
    // The log lines say the reason and who.
    expect(logs.some((l) => /^warn: login from 127\.0\.0\.1:\d+ refused: E_AUTH/.test(l))).toBe(true);
    expect(logs.some((l) => /^warn: tunnel from bob \(127\.0\.0\.1:\d+\) refused: E_PORT_TAKEN/.test(l))).toBe(true);
  });
});
