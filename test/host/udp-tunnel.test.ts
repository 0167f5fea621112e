import { describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { client, host, until } from '../helpers/engine.js';
import { authenticatedControl } from '../helpers/native.js';
import { encodeFrame, encodePreamble } from '../../src/protocol/frame.js';
import { MsgType, decodeMessage } from '../../src/protocol/messages.js';
import { P2prcError } from '../../src/errors.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

async function udpEcho(): Promise<{ port: number; peers: Set<string> }> {
  const peers = new Set<string>();
  const s = dgram.createSocket('udp4');
  s.on('message', (msg, r) => {
    peers.add(`${r.address}:${r.port}`);
    s.send(msg, r.port, r.address);
  });
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  defer(() => s.close());
  return { port: s.address().port, peers };
}

async function visitor(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  defer(() => s.close());
  return s;
}

describe('UDP tunnels', () => {
  it('relays 1,000 datagrams from 10 visitors, each echoed back unaltered to the right visitor', async () => {
    const h = await host({ tls: false });
    const echo = await udpEcho();
    const [t] = await client(h, { tls: false, tunnels: [{ name: 'u', protocol: 'udp', localPort: echo.port }] }).ready;
    expect(t!.protocol).toBe('udp');
    const visitors = await Promise.all(Array.from({ length: 10 }, visitor));
    const received = visitors.map(() => new Map<string, Buffer>());
    visitors.forEach((v, i) => v.on('message', (m) => received[i]!.set(m.subarray(0, 8).toString('hex'), m)));
    const sent = visitors.map(() => new Map<string, Buffer>());
    // 100 per visitor, paced in windows of 10 per visitor: a 1,000-datagram burst would only measure
    // the kernel's socket buffers. UDP may still drop, so each window resends what is missing (bounded).
    for (let window = 0; window < 10; window++) {
      const batch = visitors.map(() => new Map<string, Buffer>());
      visitors.forEach((_, i) => {
        for (let n = 0; n < 10; n++) {
          const msg = randomBytes(8 + (((window * 10 + n) * 97) % 1400));
          batch[i]!.set(msg.subarray(0, 8).toString('hex'), msg);
          sent[i]!.set(msg.subarray(0, 8).toString('hex'), msg);
        }
      });
      for (let attempt = 0; attempt < 5; attempt++) {
        visitors.forEach((v, i) => {
          for (const [key, msg] of batch[i]!) if (!received[i]!.has(key)) v.send(msg, t!.remotePort, '127.0.0.1');
        });
        const done = await until(
          () => batch.every((b, i) => [...b.keys()].every((k) => received[i]!.has(k))),
          2_000,
          'echoes',
        ).then(
          () => true,
          () => false,
        );
        if (done) break;
      }
    }
    received.forEach((r, i) => {
      expect(r.size).toBe(100);
      for (const [key, msg] of sent[i]!) expect(r.get(key)).toEqual(msg);
    });
    // each visitor mapped to its own session on the client side
    expect(echo.peers.size).toBe(10);
  }, 60_000);

  it('carries a maximal 65,507-byte datagram', async () => {
    const h = await host({ tls: true });
    const echo = await udpEcho();
    const [t] = await client(h, { tunnels: [{ name: 'u', protocol: 'udp', localPort: echo.port }] }).ready;
    const v = await visitor();
    const big = randomBytes(65_507);
    const got = once(v, 'message');
    v.send(big, t!.remotePort, '127.0.0.1');
    expect(((await got) as [Buffer])[0]).toEqual(big);
  });

  it('an authenticated client sending a truncated UdpData frame loses only its own session', async () => {
    const h = await host({ tls: false });
    const echo = await udpEcho();
    const [t] = await client(h, { tls: false, tunnels: [{ name: 'u', protocol: 'udp', localPort: echo.port }] }).ready;
    const closed: Array<{ clientId: string; reason: string | undefined }> = [];
    h.host.on('client-closed', (c) => closed.push(c));
    const rogue = await authenticatedControl(h.port, h.token, 'rogue');
    const truncated = Buffer.from([0, 0, 0, 1, 9, 1]); // says a 9-byte tunnel id follows; one byte does
    const gone = once(rogue.socket, 'close');
    rogue.socket.write(encodeFrame(MsgType.UdpData, truncated));
    await gone;
    await until(() => closed.length > 0, 5_000, 'the host to end the rogue session');
    // The reason is the protocol layer's own error for exactly these bytes, not a timeout or a reset.
    const expected = codedError(() => decodeMessage({ type: MsgType.UdpData, payload: truncated }));
    expect(expected.code).toBe('E_PROTOCOL');
    expect(closed).toEqual([{ clientId: 'rogue', name: 'rogue', reason: expected.message }]);
    const v = await visitor();
    const got = once(v, 'message');
    v.send(Buffer.from('still fine'), t!.remotePort, '127.0.0.1');
    expect(String(((await got) as [Buffer])[0])).toBe('still fine');
  });

  it('a UdpData frame before any Hello closes that connection with E_PROTOCOL and nothing else', async () => {
    const h = await host({ tls: false });
    const logs: string[] = [];
    h.host.on('log', (l) => logs.push(l.message));
    const echo = await udpEcho();
    const [t] = await client(h, { tls: false, tunnels: [{ name: 'u', protocol: 'udp', localPort: echo.port }] }).ready;
    const raw = net.connect(h.port, '127.0.0.1');
    defer(() => raw.destroy());
    raw.on('error', () => undefined);
    await once(raw, 'connect');
    const from = `${raw.localAddress}:${raw.localPort}`;
    raw.write(Buffer.concat([encodePreamble(), encodeFrame(MsgType.UdpData, Buffer.from([0, 0, 0, 1, 9, 1]))]));
    await once(raw, 'close');
    // A refusal is logged with the stage, the peer address and the code.
    await until(
      () => logs.some((m) => m.startsWith(`login from ${from} refused: E_PROTOCOL `)),
      5_000,
      'the host log line',
    );
    const v = await visitor();
    const got = once(v, 'message');
    v.send(Buffer.from('still fine'), t!.remotePort, '127.0.0.1');
    expect(String(((await got) as [Buffer])[0])).toBe('still fine');
  });
});

/** A control session authenticated by hand (Hello, Challenge, Auth, AuthOk), so raw frames can follow it. */
function codedError(fn: () => unknown): P2prcError {
  try {
    fn();
  } catch (err) {
    if (err instanceof P2prcError) return err;
    throw err;
  }
  throw new Error('expected a coded error');
}
