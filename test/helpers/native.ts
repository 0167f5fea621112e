import type net from 'node:net';
import { expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { P2prcError } from '../../src/errors.js';
import { proofsEqual } from '../../src/protocol/auth.js';
import { acceptProof, confirmEqual, controlPakeStart, type ControlKeys } from '../../src/protocol/control-pake.js';
import type { Messages } from '../../src/protocol/messages.js';
import { FrameChannel } from '../../src/transport/channel.js';
import { channelBinding, dial } from '../../src/transport/net.js';
import { defer } from './engine.js';

/** A hand-driven native control session on a plaintext host: for sending frames no client would. */
export async function authenticatedControl(
  port: number,
  token: string,
  clientId: string,
): Promise<{ socket: net.Socket; channel: FrameChannel }> {
  const { socket } = await dial({ host: '127.0.0.1', port, tls: false, timeoutMs: 5_000 });
  defer(() => socket.destroy());
  const channel = new FrameChannel(socket);
  const { keys } = await controlHello(channel, socket, token, clientId);
  channel.send('Auth', { nonce: keys.sid, mac: keys.clientConfirm.toString('hex') });
  const ok = await channel.next(5_000);
  expect(ok.type).toBe('AuthOk');
  if (ok.type === 'AuthOk')
    expect(proofsEqual(ok.body.mac, acceptProof(keys.sessionKey, ok.body.sessionId))).toBe(true);
  return { socket, channel };
}

/**
 * The client's half of the control handshake up to the Challenge, by hand: Hello with a CPace element,
 * then the host's element and proof checked. The caller sends Auth (`keys.clientConfirm`, nonce `keys.sid`).
 */
export async function controlHello(
  channel: FrameChannel,
  socket: net.Socket,
  token: string,
  clientId: string,
  user?: string,
  checkHost = true,
): Promise<{ challenge: Messages['Challenge']; keys: ControlKeys & { sid: string } }> {
  const sid = randomBytes(32);
  const pake = controlPakeStart(token, channelBinding(socket), sid);
  channel.sendPreamble();
  channel.send('Hello', {
    role: 'control',
    clientId,
    name: clientId,
    agent: 'test',
    ...(user ? { user } : {}),
    sid: sid.toString('hex'),
    element: pake.element.toString('hex'),
  });
  const challenge = await channel.next(5_000);
  if (challenge.type === 'Error') throw new P2prcError(challenge.body.code, challenge.body.message);
  if (challenge.type !== 'Challenge') throw new Error(`expected Challenge, got ${challenge.type}`);
  const host = Buffer.from(challenge.body.element ?? '', 'hex');
  const keys = pake.finish(host, pake.element, host, { clientId, user: user ?? '', hostNonce: challenge.body.nonce });
  if (checkHost) expect(confirmEqual(keys.hostConfirm, challenge.body.confirm ?? '')).toBe(true);
  return { challenge: challenge.body, keys: { ...keys, sid: sid.toString('hex') } };
}
