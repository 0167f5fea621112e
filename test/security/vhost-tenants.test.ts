import net from 'node:net';
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { openFrpProxy, type FrpProxyServices } from '../../src/frp-wire/server/proxies.js';
import type { FrpTunnel } from '../../src/frp-wire/server/ports.js';
import { principalOf } from '../../src/services/principal.js';
import { VhostServer, type VhostRoute } from '../../src/vhost/vhost-server.js';
import { duplexPair } from '../../src/transport/pair.js';
import { relay } from '../../src/transport/relay.js';
import type { VisitorSink } from '../../src/transport/pairing-pool.js';
import { httpServer } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

function via(port: number): VhostRoute {
  return {
    owner: `local:${port}`,
    connect(visitor) {
      const [mine, theirs] = duplexPair({}, visitor);
      relay(theirs, net.connect(port, '127.0.0.1'));
      return mine;
    },
  };
}

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers: { host: 'app.test' }, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe("a tenant's domain", () => {
  it('takes no locations of another principal, frpc or native; the owner adds its own; /login does not take /loginx', async () => {
    const v = new VhostServer(() => undefined);
    await v.listen(0, '127.0.0.1');
    defer(() => v.close());
    const app = await httpServer((req, res) => res.end(`app ${req.url}`));
    const login = await httpServer((req, res) => res.end(`login ${req.url}`));
    // The victim, a native client from 10.0.0.1, publishes app.test.
    v.register(['app.test'], [], via(app), principalOf(undefined, '10.0.0.1:40000'));
    const services = {
      vhost: { port: v.port, subdomainHost: undefined, register: v.register.bind(v) },
    } as unknown as FrpProxyServices<FrpTunnel>;
    const sink: VisitorSink = { acceptVisitor: (_t, visitor) => relay(visitor, net.connect(login, '127.0.0.1')) };
    const frpc = (remote: string, locations: string[]) =>
      openFrpProxy(
        services,
        'run',
        { proxy_name: `p${remote}`, proxy_type: 'http', custom_domains: ['App.test'], locations },
        sink,
        0,
        remote,
      );
    await expect(frpc('10.0.0.2:50000', ['/login', '/api'])).rejects.toMatchObject({ code: 'E_CONFLICT' });
    expect(() => v.register(['app.test'], ['/login'], via(login), 'user:mallory')).toThrow(
      expect.objectContaining({ code: 'E_CONFLICT' }),
    );
    expect(await get(v.port, '/login')).toBe('app /login');
    // The owner's own frpc (same address) may route a path of its domain elsewhere.
    const own = await frpc('10.0.0.1:50001', ['/login']);
    expect(await get(v.port, '/login')).toBe('login /login');
    expect(await get(v.port, '/login/form')).toBe('login /login/form');
    expect(await get(v.port, '/loginx')).toBe('app /loginx');
    own.release(false);
    expect(await get(v.port, '/login')).toBe('app /login');
  });
});
