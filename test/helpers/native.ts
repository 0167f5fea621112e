import type net from 'node:net';
import { expect } from 'vitest';
import { clientProof, hostProof, newNonce, proofsEqual } from '../../src/protocol/auth.js';
import { FrameChannel } from '../../src/transport/channel.js';
import { dial } from '../../src/transport/net.js';
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
  channel.sendPreamble();
  channel.send('Hello', { role: 'control', clientId, name: clientId, agent: 'test' });
  const challenge = await channel.next(5_000);
  if (challenge.type !== 'Challenge') throw new Error(`expected Challenge, got ${challenge.type}`);
  const nonce = newNonce();
  channel.send('Auth', { nonce, mac: clientProof(token, challenge.body.nonce, nonce) });
  const ok = await channel.next(5_000);
  expect(ok.type).toBe('AuthOk');
  if (ok.type === 'AuthOk') expect(proofsEqual(ok.body.mac, hostProof(token, challenge.body.nonce, nonce))).toBe(true);
  return { socket, channel };
}
