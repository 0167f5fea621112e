import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { WebSocket, createWebSocketStream } from 'ws';
import { YamuxSession } from '../../src/mux/session.js';
import { FrpMsg, encodeFrpMessage, privilegeKey } from '../../src/frp-wire/codec/messages.js';
import { readMessages } from '../../src/frp-wire/codec/read.js';
import { FRP_WEBSOCKET_PATH } from '../../src/frp-wire/server/frp-server.js';
import { host } from '../helpers/engine.js';
import { useWorkspace } from '../helpers/workspace.js';

const { defer } = useWorkspace();

describe("frpc's protocol = websocket on the host's control port", () => {
  it('the upgrade on /~!frp, then tcp_mux inside it: a Login is answered', async () => {
    const h = await host();
    const ws = new WebSocket(`ws://127.0.0.1:${h.port}${FRP_WEBSOCKET_PATH}`);
    defer(() => ws.terminate());
    await once(ws, 'open');
    const stream = createWebSocketStream(ws);
    stream.on('error', () => undefined);
    const session = new YamuxSession(stream, { client: true, accept: false });
    defer(() => session.close());
    const control = session.openStream();
    const timestamp = Math.floor(Date.now() / 1000);
    control.write(
      encodeFrpMessage(FrpMsg.Login, {
        version: '0.31.2',
        hostname: '',
        os: 'linux',
        arch: 'amd64',
        user: '',
        privilege_key: privilegeKey(h.token, timestamp),
        timestamp,
        run_id: '',
        metas: null,
        pool_count: 1,
      }),
    );
    const { message } = await readMessages(control, (m) => m.type === FrpMsg.LoginResp, 5_000);
    expect(message.body).toMatchObject({ error: '', version: '0.31.2' });
    expect(String(message.body.run_id)).toMatch(/^[0-9a-f]{16}$/);
  });
});
