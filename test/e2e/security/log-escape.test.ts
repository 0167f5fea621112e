import { describe, expect, it } from 'vitest';
import { escapeControl } from '../../../src/errors.js';
import { formatLine } from '../../../src/log/logger.js';
import { newNonce } from '../../../src/protocol/auth.js';
import { FrameChannel } from '../../../src/transport/channel.js';
import { dial } from '../../../src/transport/net.js';
import { startCli } from '../../helpers/cli.js';
import { listServices } from '../../../src/index.js';
import { servicesText } from '../../../src/cli/services.js';
import { client, echoServer, host } from '../../helpers/engine.js';
import { useWorkspace } from '../../helpers/workspace.js';

const { tempDir, defer } = useWorkspace();

const FORGED = '[2026-01-01T00:00:00.000Z] info: client admin connected from 10.0.0.1:1';

// A newline in a pre-auth Hello name must not forge host log lines.
describe('wire strings in logs', () => {
  it('escapeControl keeps one line and leaves printable text alone', () => {
    expect(escapeControl('a\nb\r\x1b[2Jc\u2028\x7f\x9b')).toBe('a\\x0ab\\x0d\\x1b[2Jc\\u2028\\x7f\\x9b');
    expect(escapeControl('plain: ü, 日本, "quoted" \\ ok')).toBe('plain: ü, 日本, "quoted" \\ ok');
    expect(formatLine('text', new Date(0), 'warn', 'x', `evil\n${FORGED}`).split('\n')).toHaveLength(1);
  });

  it('a Hello name with a newline, sent to a host process, leaves one log line', async () => {
    const dir = tempDir('logesc');
    const host = startCli([
      '-s',
      '--reverse-proxy',
      '--bind',
      '127.0.0.1',
      '--control-port',
      '0',
      '--port',
      '0',
      '--no-tls',
      '--json',
      '--config-dir',
      dir,
    ]);
    const { port } = JSON.parse(await host.waitFor((l) => l.includes('"host-started"'))) as { port: number };
    const { socket } = await dial({ host: '127.0.0.1', port, tls: false, timeoutMs: 5_000 });
    defer(() => socket.destroy());
    const channel = new FrameChannel(socket);
    channel.sendPreamble();
    channel.send('Hello', { role: 'control', clientId: 'x', name: `evil\n${FORGED}`, agent: 'test' });
    const challenge = await channel.next(5_000);
    expect(challenge.type).toBe('Challenge');
    channel.send('Auth', { nonce: newNonce(), mac: '0'.repeat(64) }); // a wrong token: the refusal names the client
    const line = await host.waitFor((l) => l.includes('evil'), 20_000, 'stderr');
    expect(line).toContain(`evil\\x0a${FORGED}`);
    expect(host.stderr.filter((l) => l.startsWith(FORGED))).toEqual([]);
  }, 30_000);

  it('a service description with a newline and an escape sequence stays in its row of --list-services', async () => {
    const h = await host({ tls: false });
    const echo = await echoServer();
    const description = 'db\nforged  row  online\x1b[2J';
    await client(h, {
      tls: false,
      tunnels: [],
      services: [{ id: 'db', secret: 'generated-secret-0123456789', localPort: echo, description }],
    }).ready;
    const listed = await listServices({ host: '127.0.0.1', port: h.port, token: h.token, tls: false });
    expect(listed[0]!.description).toBe(description); // the data is kept; only what is printed is escaped
    const table = servicesText(listed, false).split('\n');
    expect(table).toHaveLength(2);
    expect(table[1]).toContain('db\\x0aforged  row  online\\x1b[2J');
  });
});
