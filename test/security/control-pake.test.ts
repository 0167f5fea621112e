import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { connect } from '../../src/index.js';
import { P2prcError } from '../../src/errors.js';
import { controlPakeStart } from '../../src/protocol/control-pake.js';
import { newNonce } from '../../src/protocol/auth.js';
import type { Message } from '../../src/protocol/messages.js';
import { FrameChannel } from '../../src/transport/channel.js';
import { dial } from '../../src/transport/net.js';
import { host, listen, until } from '../helpers/engine.js';
import { controlHello } from '../helpers/native.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

/**
 * A dishonest host without the token (one a peer might advertise): it records every frame a client
 * sends and answers each Hello the way a real host would, with its own guess at the token, or like a
 * host from before the PAKE (`legacy`).
 */
async function rogueHost(guess: string, legacy = false): Promise<{ port: number; received: Message[] }> {
  const received: Message[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    const channel = new FrameChannel(socket, { expectPreamble: true });
    channel.onMessage((m) => {
      received.push(m);
      if (m.type !== 'Hello' || m.body.role !== 'control') return;
      const nonce = newNonce();
      if (legacy || !m.body.sid || !m.body.element) {
        channel.send('Challenge', { nonce, hostId: 'rogue', agent: 'p2prc', version: '0.1.0' });
        return;
      }
      const pake = controlPakeStart(guess, '', Buffer.from(m.body.sid, 'hex'));
      const theirs = Buffer.from(m.body.element, 'hex');
      const keys = pake.finish(theirs, theirs, pake.element, {
        clientId: m.body.clientId,
        user: m.body.user ?? '',
        hostNonce: nonce,
      });
      channel.send('Challenge', {
        nonce,
        hostId: 'rogue',
        agent: 'p2prc',
        version: '0.2.0',
        element: pake.element.toString('hex'),
        confirm: keys.hostConfirm.toString('hex'),
      });
    });
  });
  defer(() => sockets.forEach((s) => s.destroy()));
  return { port: await listen(server), received };
}

async function loginError(port: number, token: string): Promise<P2prcError> {
  const client = connect({
    host: '127.0.0.1',
    port,
    token,
    tls: false,
    tunnels: [{ name: 't', localPort: 1 }],
    exitOnLoginFailure: true,
    maxRetries: 0,
  });
  defer(() => client.close());
  return client.ready.then(
    () => {
      throw new Error('a login to a host without the token succeeded');
    },
    (e: unknown) => e as P2prcError,
  );
}

describe('the control handshake is a PAKE', () => {
  it('a host without the token gets the Hello and nothing else: no proof, no account proof, a fresh element each time', async () => {
    const rogue = await rogueHost('a-guess');
    const first = await loginError(rogue.port, 'sunshine');
    expect(first.code).toBe('E_AUTH');
    expect(first.message).toContain('wrong token');
    await loginError(rogue.port, 'sunshine');
    // All the rogue holds: two Hellos. Their elements differ (a fresh scalar each time), so nothing in
    // them is a fixed function of the token to check a dictionary against; no Auth ever left the client.
    expect(received(rogue).map((m) => m.type)).toEqual(['Hello', 'Hello']);
    const [a, b] = received(rogue).map((m) => (m.type === 'Hello' && m.body.role === 'control' ? m.body.element : ''));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
  });

  it('a host from before the PAKE is named with the version the client needs, and gets no proof', async () => {
    const old = await rogueHost('', true);
    const err = await loginError(old.port, 'sunshine');
    expect(err.code).toBe('E_VERSION');
    expect(err.message).toMatch(/runs p2prc 0\.1\.0.*needs a host of p2prc 0\.2\.0 or later \(no proof was sent\)/);
    expect(received(old).map((m) => m.type)).toEqual(['Hello']);
  });

  it('a client from before the PAKE is told which version it needs, after the Challenge a probe reads', async () => {
    const h = await host({ tls: false, token: 'new-token' });
    const { socket } = await dial({ host: '127.0.0.1', port: h.port, tls: false, timeoutMs: 5_000 });
    defer(() => socket.destroy());
    const channel = new FrameChannel(socket);
    channel.sendPreamble();
    channel.send('Hello', { role: 'control', clientId: 'old', name: 'old', agent: 'p2prc' });
    const challenge = await channel.next(5_000);
    expect(challenge.type).toBe('Challenge');
    channel.send('Auth', { nonce: newNonce(), mac: 'ab'.repeat(32) });
    const reply = await channel.next(5_000);
    expect(reply).toMatchObject({
      type: 'Error',
      body: { code: 'E_VERSION', message: expect.stringContaining('needs a client of p2prc 0.2.0 or later') },
    });
  });

  it('a source whose handshakes keep failing waits, even in parallel; another source logs in meanwhile', async () => {
    const h = await host({ tls: false, token: 'right-token' });
    const attempt = async (token: string, localAddress = '127.0.0.1') => {
      const socket = net.connect({ host: '127.0.0.1', port: h.port, localAddress });
      defer(() => socket.destroy());
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      const channel = new FrameChannel(socket);
      try {
        const { keys } = await controlHello(channel, socket, token, `c-${Math.random()}`, undefined, false);
        channel.send('Auth', { nonce: keys.sid, mac: keys.clientConfirm.toString('hex') });
        const reply = await channel.next(5_000);
        return reply.type === 'Error' ? reply.body.code : reply.type;
      } catch (err) {
        return err instanceof P2prcError ? err.code : String(err);
      } finally {
        channel.close();
      }
    };
    // 64 failures are free (as many handshakes as one source may have pending at once), then it waits.
    const answers: string[] = [];
    for (let i = 0; i < 65; i++) answers.push(await attempt('wrong-token'));
    expect(answers.slice(0, 64).every((a) => a === 'E_AUTH')).toBe(true);
    expect(answers.at(-1)).toBe('E_QUOTA');
    // The right token from the throttled source waits too; from another source it logs in.
    expect(await attempt('right-token')).toBe('E_QUOTA');
    expect(await attempt('right-token', '127.0.0.2')).toBe('AuthOk');
    // Once the wait is over, ten handshakes at once get one guess between them: each is counted
    // when its Challenge goes out, not when it ends.
    await until(async () => (await attempt('wrong-token')) !== 'E_QUOTA', 10_000, 'the wait to end');
    await until(async () => (await attempt('wrong-token', '127.0.0.3')) === 'E_AUTH', 1_000, 'a fresh source');
    await new Promise((r) => setTimeout(r, 4_500)); // the next wait (2 s, then 4 s) runs out
    const parallel = await Promise.all(Array.from({ length: 10 }, () => attempt('wrong-token')));
    expect(parallel.filter((a) => a === 'E_AUTH')).toHaveLength(1);
    expect(parallel.filter((a) => a === 'E_QUOTA')).toHaveLength(9);
  }, 30_000);
});

function received(r: { received: Message[] }): Message[] {
  return r.received;
}
