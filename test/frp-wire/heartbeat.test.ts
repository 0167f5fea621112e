import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { FrpControl, type FrpControlContext } from '../../src/frp-wire/server/control.js';
import { frpKey } from '../../src/frp-wire/codec/crypto.js';
import { DEFAULT_PAIRING_LIMITS } from '../../src/transport/pairing-pool.js';
import type { FrpTunnel } from '../../src/frp-wire/server/ports.js';
import { useWorkspace } from '../helpers/workspace.js';
import { StreamStarts } from '../../src/frp-wire/server/stream-starts.js';

const { defer } = useWorkspace();

/** Both ends of one real loopback TCP connection. */
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [accepted] = (await once(server, 'connection')) as [net.Socket];
  server.close();
  for (const s of [client, accepted]) defer(() => s.destroy());
  client.on('error', () => undefined);
  return [accepted, client];
}

/** A control whose client never sends a message (frpc 0.58+ under tcpMux sends no Ping). */
async function silentControl(heartbeatTimeoutMs: number) {
  const [conn] = await socketPair();
  const logs: string[] = [];
  let closed = false;
  const ctx = {
    key: frpKey('token'),
    starts: new StreamStarts(),
    heartbeatTimeoutMs,
    pairing: DEFAULT_PAIRING_LIMITS,
    log: (_level: string, message: string) => logs.push(message),
  } as unknown as FrpControlContext<FrpTunnel>;
  const control = new FrpControl('run1', '127.0.0.1:1', conn, Buffer.alloc(0), ctx, 1, () => (closed = true));
  return { control, logs, isClosed: () => closed };
}

describe('the frp control watchdog', () => {
  it('closes a control that sent nothing for the heartbeat timeout, and says so', async () => {
    const c = await silentControl(200);
    await expect.poll(c.isClosed, { timeout: 5_000 }).toBe(true);
    expect(c.logs.some((m) => /frp client run1: no message for \d+ s; closing its control/.test(m))).toBe(true);
  });

  it('with no timeout (a control inside a yamux session) keeps a silent control open', async () => {
    const c = await silentControl(0);
    await new Promise((r) => setTimeout(r, 600));
    expect(c.isClosed()).toBe(false);
    c.control.close();
  });
});
