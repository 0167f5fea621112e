import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { addUser, listServices, loadUsers } from '../../src/index.js';
import { P2prcError } from '../../src/errors.js';
import { controlHello } from '../helpers/native.js';
import { FrameChannel } from '../../src/transport/channel.js';
import { channelBinding, dial } from '../../src/transport/net.js';
import { host } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { tempDir } = useWorkspace();

const TOKEN = 'users-host-token';

async function usersFile(): Promise<string> {
  const dir = tempDir('scram');
  const file = path.join(dir, 'users.json');
  await addUser(file, 'alice', 'wonderland');
  return file;
}

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((x, i) => x ^ b[i]!)).toString('hex');

/**
 * Everything a thief can make from a users.json entry: each 64-hex value used as the old
 * password-equivalent hash (HMAC over the nonces), and each pair used as (ClientKey, StoredKey) of a
 * SCRAM proof over the AuthMessage. The thief holds the host token (a token holder without an account).
 */
function forgeries(
  entry: Record<string, unknown>,
  ctx: { salt: string; hostNonce: string; clientNonce: string; binding: string },
): string[] {
  const values = Object.values(entry)
    .filter((v): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v))
    .map((v) => Buffer.from(v, 'hex'));
  const old = values.map((v) =>
    createHmac('sha256', v)
      .update('p2prc/v1/user\0')
      .update(ctx.hostNonce)
      .update('\0')
      .update(ctx.clientNonce)
      .digest('hex'),
  );
  const message = ['p2prc/v2/user', 'alice', ctx.salt, ctx.hostNonce, ctx.clientNonce, ctx.binding].join('\0');
  const scram = values.flatMap((clientKey) => values.map((storedKey) => xor(clientKey, hmac(storedKey, message))));
  return [...old, ...scram];
}

/** One login attempt per connection with the `index`-th forgery; the host's answer type ('AuthOk' or the error code). */
async function tryForgery(
  port: number,
  entry: Record<string, unknown>,
  index: number,
): Promise<{ answer: string; count: number }> {
  const { socket } = await dial({ host: '127.0.0.1', port, tls: true, timeoutMs: 5_000 });
  const channel = new FrameChannel(socket);
  try {
    const { challenge, keys } = await controlHello(channel, socket, TOKEN, `thief-${index}`, 'alice');
    const clientNonce = keys.sid;
    const binding = channelBinding(socket);
    const all = forgeries(entry, {
      salt: challenge.userSalt ?? '',
      hostNonce: challenge.nonce,
      clientNonce,
      binding,
    });
    channel.send('Auth', { nonce: clientNonce, mac: keys.clientConfirm.toString('hex'), userMac: all[index]! });
    const reply = await channel.next(5_000);
    return { answer: reply.type === 'Error' ? reply.body.code : reply.type, count: all.length };
  } finally {
    channel.close();
  }
}

// users.json entries must not be password-equivalent: knowing an entry must not let you log in.
describe('SCRAM-style users.json', () => {
  it('a stolen users.json entry cannot log in; the password can; a wrong password gets E_AUTH', async () => {
    const file = await usersFile();
    const stolen = (JSON.parse(await readFile(file, 'utf8')) as { users: Array<Record<string, unknown>> }).users[0]!;
    expect(JSON.stringify(stolen)).not.toContain('wonderland');
    const h = await host({ tls: true, token: TOKEN, users: await loadUsers(file) });
    let count = 1;
    const answers: string[] = [];
    for (let i = 0; i < count && i < 64; i++) {
      const r = await tryForgery(h.port, stolen, i);
      count = r.count;
      answers.push(r.answer);
    }
    expect(answers.length).toBeGreaterThanOrEqual(3);
    expect(answers.every((a) => a === 'E_AUTH')).toBe(true);

    const access = {
      host: '127.0.0.1',
      port: h.port,
      token: TOKEN,
      tls: true,
      fingerprint: h.fingerprint,
      maxRetries: 0,
      exitOnLoginFailure: true,
    };
    expect(await listServices({ ...access, user: { name: 'alice', password: 'wonderland' } })).toEqual([]);
    const wrong = await listServices({ ...access, user: { name: 'alice', password: 'looking-glass' } }).catch(
      (e: unknown) => e,
    );
    expect(wrong).toBeInstanceOf(P2prcError);
    expect((wrong as P2prcError).code).toBe('E_AUTH');
  }, 30_000);

  it('the client refuses a host whose record does not match its password (no ServerSignature it can check)', async () => {
    const file = await usersFile();
    const [alice] = await loadUsers(file);
    // The right StoredKey (the proof verifies) with another ServerKey: a host that only has the verifier half.
    const h = await host({ tls: true, token: TOKEN, users: [{ ...alice!, serverKey: 'ab'.repeat(32) }] });
    const access = {
      host: '127.0.0.1',
      port: h.port,
      token: TOKEN,
      tls: true,
      fingerprint: h.fingerprint,
      maxRetries: 0,
      exitOnLoginFailure: true,
    };
    const err = await listServices({ ...access, user: { name: 'alice', password: 'wonderland' } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(P2prcError);
    expect((err as P2prcError).code).toBe('E_AUTH');
  }, 30_000);

  it('an old-format entry is refused naming --add-user, which re-creates it and keeps the others', async () => {
    const file = await usersFile();
    const current = JSON.parse(await readFile(file, 'utf8')) as { users: unknown[] };
    await writeFile(
      file,
      JSON.stringify({ users: [...current.users, { name: 'bob', salt: '11'.repeat(32), hash: '22'.repeat(32) }] }),
    );
    const err = await loadUsers(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(P2prcError);
    expect((err as P2prcError).code).toBe('E_CONFIG');
    expect((err as P2prcError).message).toContain('--add-user bob');
    await addUser(file, 'bob', 'builder-pass');
    expect((await loadUsers(file)).map((u) => u.name).sort()).toEqual(['alice', 'bob']);
  });
});
