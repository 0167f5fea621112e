import net from 'node:net';
import { once } from 'node:events';
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CfbDecrypt, frpKey } from '../../src/frp-wire/codec/crypto.js';
import {
  FrpMessageDecoder,
  FrpMsg,
  encodeFrpMessage,
  privilegeKey,
  type FrpMessage,
} from '../../src/frp-wire/codec/messages.js';
import { readMessages } from '../../src/frp-wire/codec/read.js';
import { ControlStreamTap, StreamStarts } from '../../src/frp-wire/server/stream-starts.js';
import { host } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();
const TOKEN = 'frp-token';
const key = frpKey(TOKEN);

/** A frpc's control stream as it goes on the wire: its IV first, then the messages under AES-128-CFB. */
function frpcStream(): (...messages: Buffer[]) => Buffer {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-128-cfb', key, iv);
  let head: Buffer | undefined = iv;
  return (...messages) => {
    const out = Buffer.concat([head ?? Buffer.alloc(0), cipher.update(Buffer.concat(messages))]);
    head = undefined;
    return out;
  };
}
const controlBytes = (...messages: Buffer[]) => frpcStream()(...messages);

const newProxy = (name: string) =>
  encodeFrpMessage(FrpMsg.NewProxy, { proxy_name: name, proxy_type: 'tcp', remote_port: 0 });

/** A Ping of exactly `size` bytes on the wire, so the next message starts where the test wants it. */
const pingOf = (size: number) =>
  encodeFrpMessage(FrpMsg.Ping, size === 11 ? {} : { pad: 'x'.repeat(size - 9 - '{"pad":""}'.length) });

/** A raw frpc 0.64 session (plain, proving its work connections): login, then the host's decrypted messages. */
async function session(port: number, timestamp: number, runId = '') {
  const conn = net.connect(port, '127.0.0.1');
  await once(conn, 'connect');
  conn.on('error', () => undefined);
  defer(() => conn.destroy());
  conn.write(
    encodeFrpMessage(FrpMsg.Login, {
      version: '0.64.0',
      privilege_key: privilegeKey(TOKEN, timestamp),
      timestamp,
      run_id: runId,
      pool_count: 1,
    }),
  );
  const { message, rest } = await readMessages(conn, (m) => m.type === FrpMsg.LoginResp, 5_000);
  const received: FrpMessage[] = [];
  const waiters: Array<() => void> = [];
  const dec = new CfbDecrypt(key);
  const decoder = new FrpMessageDecoder();
  dec.on('data', (chunk: Buffer) => {
    received.push(...decoder.push(chunk));
    waiters.splice(0).forEach((w) => w());
  });
  dec.write(rest);
  conn.pipe(dec);
  const closed = once(conn, 'close').then(() => 'closed' as const);
  /** The first message of this type from the host, or 'closed' if the host closes first. */
  const next = (type: number) =>
    Promise.race([
      closed,
      new Promise<FrpMessage>((resolve) => {
        const check = () => {
          const m = received.find((r) => r.type === type);
          if (m) resolve(m);
          else waiters.push(check);
        };
        check();
      }),
    ]);
  return { conn, resp: message.body, next, closed };
}

describe('frp control streams: a twin session cannot act on another session’s bytes', () => {
  it("a same-second twin replaying the victim's control stream is closed; its NewProxy is never run", async () => {
    const h = await host({ token: TOKEN });
    const ts = Math.floor(Date.now() / 1000);
    const victim = await session(h.port, ts);
    expect(victim.resp.error).toBe('');
    const victimStream = frpcStream();
    const sent = victimStream(newProxy('web'));
    victim.conn.write(sent);
    expect(await victim.next(FrpMsg.NewProxyResp)).toMatchObject({ body: { proxy_name: 'web', error: '' } });

    // The attacker copied the Login (a twin is let in) and now the victim's encrypted stream.
    const attacker = await session(h.port, ts);
    expect(attacker.resp.error).toBe('');
    attacker.conn.write(sent);
    expect(await attacker.next(FrpMsg.NewProxyResp)).toBe('closed');
    // The victim's session is untouched.
    victim.conn.write(victimStream(pingOf(11)));
    expect(await victim.next(FrpMsg.Pong)).toMatchObject({ type: FrpMsg.Pong });
  });

  it('a copy starting at a later block boundary (CFB resynchronises there) is refused too', async () => {
    const h = await host({ token: TOKEN });
    const ts = Math.floor(Date.now() / 1000);
    const victim = await session(h.port, ts);
    // A 32-byte Ping, then a NewProxy starting at offset 32: ciphertext block [16, 32) decrypts what follows.
    const sent = controlBytes(pingOf(32), newProxy('web'));
    victim.conn.write(sent);
    expect(await victim.next(FrpMsg.NewProxyResp)).toMatchObject({ body: { error: '' } });

    const attacker = await session(h.port, ts);
    attacker.conn.write(sent.subarray(16 + 16)); // "IV" = block [16, 32) of the victim's stream, then the rest
    expect(await attacker.next(FrpMsg.NewProxyResp)).toBe('closed');
  });

  it('two real frpc of the same second, each with its own IV, are both served', async () => {
    const h = await host({ token: TOKEN });
    const ts = Math.floor(Date.now() / 1000);
    const a = await session(h.port, ts);
    const b = await session(h.port, ts);
    a.conn.write(controlBytes(newProxy('a')));
    b.conn.write(controlBytes(newProxy('b')));
    expect(await a.next(FrpMsg.NewProxyResp)).toMatchObject({ body: { proxy_name: 'a', error: '' } });
    expect(await b.next(FrpMsg.NewProxyResp)).toMatchObject({ body: { proxy_name: 'b', error: '' } });
  });

  // From another address the same login is refused until the old control is gone ("still logged in");
  // loopback offers one address only, so that branch is left to the code and its comment.
  it("a reconnect naming a live run id from that control's own address replaces it at once, as with frps", async () => {
    const h = await host({ token: TOKEN });
    const ts = Math.floor(Date.now() / 1000);
    const victim = await session(h.port, ts);
    const runId = String(victim.resp.run_id);
    const victimStream = frpcStream();
    victim.conn.write(victimStream(newProxy('web')));
    await victim.next(FrpMsg.NewProxyResp);

    const again = await session(h.port, ts - 1, runId);
    expect(again.resp).toMatchObject({ run_id: runId, error: '' });
    await victim.closed; // the old control was closed by the host
  });
});

describe('StreamStarts and ControlStreamTap (pure)', () => {
  it('each block may begin one stream, and the memory is bounded, oldest first', () => {
    const starts = new StreamStarts(2);
    const [a, b, c] = [1, 2, 3].map((n) => Buffer.alloc(16, n)) as [Buffer, Buffer, Buffer];
    expect(starts.claim(a)).toBe(true);
    expect(starts.claim(a)).toBe(false);
    starts.note(b);
    expect(starts.claim(b)).toBe(false);
    expect(starts.claim(c)).toBe(true); // a is forgotten
    expect(starts.claim(a)).toBe(true);
  });

  it('notes the block before each message that begins on a block boundary, and only those', async () => {
    const starts = new StreamStarts();
    const tap = new ControlStreamTap(starts);
    tap.resume();
    const stream = controlBytes(pingOf(11), pingOf(21), pingOf(20));
    tap.write(stream.subarray(0, 7));
    tap.write(stream.subarray(7));
    for (const size of [11, 21, 20]) tap.consumed(size);
    const block = (i: number) => stream.subarray(16 + 16 * i, 32 + 16 * i);
    expect(starts.claim(block(0))).toBe(true); // offset 16 is no message start
    expect(starts.claim(block(1))).toBe(false); // offset 32 is (11 + 21)
    expect(starts.claim(stream.subarray(0, 16))).toBe(false); // the IV
    const replay = new ControlStreamTap(starts);
    replay.write(stream);
    const [err] = (await once(replay, 'error')) as [{ code: string }];
    expect(err.code).toBe('E_AUTH');
  });
});
