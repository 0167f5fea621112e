import net from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { YamuxSession } from '../../src/mux/session.js';
import { FrpMsg, encodeFrpMessage, privilegeKey } from '../../src/frp-wire/codec/messages.js';
import { readMessages } from '../../src/frp-wire/codec/read.js';
import { host } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  await once(s, 'connect');
  s.on('error', () => undefined);
  defer(() => s.destroy());
  return s;
}

function login(conn: Duplex, token: string, version: string, timestamp = Math.floor(Date.now() / 1000)) {
  const key = privilegeKey(token, timestamp);
  conn.write(
    encodeFrpMessage(FrpMsg.Login, {
      version,
      hostname: '',
      os: 'linux',
      arch: 'amd64',
      user: '',
      privilege_key: key,
      timestamp,
      run_id: '',
      metas: null,
      pool_count: 1,
    }),
  );
  return { key, timestamp };
}

/** What the host answers a NewWorkConn with: a StartWorkConn (maybe with an error), or nothing before it closes. */
async function answerTo(conn: Duplex, body: object): Promise<Record<string, unknown> | undefined> {
  conn.write(encodeFrpMessage(FrpMsg.NewWorkConn, body));
  const closed = once(conn, 'close').then(() => undefined);
  const reply = readMessages(conn, (m) => m.type === FrpMsg.StartWorkConn, 3_000).then((r) => r.message.body);
  return Promise.race([reply, closed]).catch(() => undefined);
}

describe('frp work connections: only from where the login came', () => {
  it("a sniffed Login key on a plain connection takes nothing from a tcp_mux client's session", async () => {
    const h = await host();
    const socket = await connect(h.port);
    const session = new YamuxSession(socket, { client: true, accept: false });
    defer(() => session.close());
    const control = session.openStream();
    const { key, timestamp } = login(control, h.token, '0.31.2');
    const { message } = await readMessages(control, (m) => m.type === FrpMsg.LoginResp, 5_000);
    expect(message.body.error).toBe('');
    const runId = String(message.body.run_id);

    // The attacker copies run id, key and timestamp off the wire onto a connection of its own.
    const forged = await connect(h.port);
    const answer = await answerTo(forged, { run_id: runId, privilege_key: key, timestamp });
    expect(answer?.error).toMatch(/work connection refused/);
    await once(forged, 'close');
  });

  it('frpc 0.31 on a plain connection without tcp_mux is told at login why it cannot be served', async () => {
    const h = await host();
    const conn = await connect(h.port);
    login(conn, h.token, '0.31.2');
    const { message } = await readMessages(conn, (m) => m.type === FrpMsg.LoginResp, 5_000);
    expect(message.body.error).toMatch(/cannot prove its work connections.*tcp_mux = true or tls_enable = true/);
  });

  it('a newer frpc whose work connections carry no key hears the TOML and INI keys to set', async () => {
    const h = await host();
    const conn = await connect(h.port);
    login(conn, h.token, '0.64.0');
    const { message } = await readMessages(conn, (m) => m.type === FrpMsg.LoginResp, 5_000);
    expect(message.body.error).toBe('');
    const work = await connect(h.port);
    const answer = await answerTo(work, { run_id: String(message.body.run_id) });
    expect(answer?.error).toMatch(/auth\.additionalScopes = \["NewWorkConns"\].*authenticate_new_work_conns = true/);
  });

  it('the same frpc proving its work connections is served', async () => {
    const h = await host();
    const conn = await connect(h.port);
    login(conn, h.token, '0.64.0');
    const { message } = await readMessages(conn, (m) => m.type === FrpMsg.LoginResp, 5_000);
    const work = await connect(h.port);
    const timestamp = Math.floor(Date.now() / 1000);
    work.write(
      encodeFrpMessage(FrpMsg.NewWorkConn, {
        run_id: String(message.body.run_id),
        privilege_key: privilegeKey(h.token, timestamp),
        timestamp,
      }),
    );
    // Parked in the pool: the host keeps it open, waiting for a visitor.
    const outcome = await Promise.race([
      once(work, 'close').then(() => 'closed'),
      new Promise((r) => setTimeout(() => r('open'), 500)),
    ]);
    expect(outcome).toBe('open');
  });
});
