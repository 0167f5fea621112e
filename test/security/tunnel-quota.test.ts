import { describe, expect, it } from 'vitest';
import { once } from 'node:events';
import type { FrameChannel } from '../../src/transport/channel.js';
import type { Message } from '../../src/protocol/messages.js';
import { principalOf } from '../../src/host/principals.js';
import { FrpWireClient } from '../../src/frp-wire/client/client.js';
import type { HostRefusal } from '../../src/host/host.js';
import { client, echoServer, freePort, host, until } from '../helpers/engine.js';
import { authenticatedControl } from '../helpers/native.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

/** Registers one tunnel on any port by hand, confirming the host's offer; resolves 'ok' or the refusal's code. */
async function register(channel: FrameChannel, tunnelId: string): Promise<string> {
  channel.send('Register', { tunnelId, protocol: 'tcp', remotePort: 0, name: tunnelId, matchLocal: false });
  for (let frames = 0; frames < 10; frames++) {
    const m: Message = await channel.next(5_000);
    if (m.type === 'PortOffer') channel.send('PortConfirm', { tunnelId, port: m.body.port });
    else if (m.type === 'Registered') return 'ok';
    else if (m.type === 'RegisterFailed') return m.body.code;
  }
  throw new Error('no answer to Register');
}

// The tunnel quota counts per principal (account or address), not per self-chosen client id.
describe('tunnel quota per principal', () => {
  it("principals: an account, else the client's address (an IPv6 /64 as one)", () => {
    expect(principalOf('alice', '127.0.0.1:4000')).toBe('user:alice');
    expect(principalOf(undefined, '127.0.0.1:4000')).toBe(principalOf(undefined, '127.0.0.1:5000'));
    expect(principalOf(undefined, '[2001:db8::1]:1')).toBe(principalOf(undefined, '[2001:db8::2]:2'));
  });

  it('many client ids from one address share the quota, ports held in grace included; another address has its own', async () => {
    const h = await host({ bind: '::', tls: false, maxTunnelsPerClient: 2, maxTunnelsPerPrincipal: 3 });
    const a = await authenticatedControl(h.port, h.token, 'id-a');
    expect([await register(a.channel, 'a1'), await register(a.channel, 'a2')]).toEqual(['ok', 'ok']);
    const b = await authenticatedControl(h.port, h.token, 'id-b');
    expect([await register(b.channel, 'b1'), await register(b.channel, 'b2')]).toEqual(['ok', 'E_QUOTA']);
    // Session a goes away: its two ports are held for it, and still count against the address.
    const closed = once(h.host, 'client-closed');
    a.socket.destroy();
    await closed;
    const c = await authenticatedControl(h.port, h.token, 'id-c');
    expect(await register(c.channel, 'c1')).toBe('E_QUOTA');
    // A client from another address (::1) is another principal.
    const echo = await echoServer();
    const other = client(h, {
      host: '::1',
      tls: false,
      tunnels: [
        { name: 'x', localPort: echo },
        { name: 'y', localPort: echo },
      ],
    });
    expect(await other.ready).toHaveLength(2);
  }, 30_000);

  it("an frp client shares the quota of its address with native clients (frp's user is not authenticated)", async () => {
    const h = await host({ tls: false, maxTunnelsPerClient: 2, maxTunnelsPerPrincipal: 3 });
    const refused: HostRefusal[] = [];
    h.host.on('refused', (r) => refused.push(r));
    const a = await authenticatedControl(h.port, h.token, 'native');
    expect([await register(a.channel, 'a1'), await register(a.channel, 'a2')]).toEqual(['ok', 'ok']);
    const echo = await echoServer();
    const tunnels = await Promise.all(
      ['p1', 'p2'].map(async (name) => ({
        name,
        localHost: '127.0.0.1',
        localPort: echo,
        remotePort: await freePort(),
      })),
    );
    const frp = new FrpWireClient({
      host: '127.0.0.1',
      port: h.port,
      token: h.token,
      tcpMux: true,
      tunnels,
      heartbeatMs: 1_000,
    });
    defer(() => frp.close());
    void frp.start().catch(() => undefined);
    await until(
      () => refused.some((r) => r.code === 'E_QUOTA'),
      10_000,
      'the host to refuse the fourth tunnel of the address',
    );
    expect(h.host.tunnels().filter((t) => t.engine === 'frp-wire')).toHaveLength(1);
  }, 30_000);
});
