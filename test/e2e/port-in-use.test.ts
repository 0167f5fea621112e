import { createServer, type AddressInfo } from 'node:net';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { useWorkspace } from '../helpers/workspace.js';

// A port this machine already uses: the error names which of the command's ports it is, its number and
// address, and the flag that picks another, so a user with five listening ports knows which to change.
const { tempDir, defer } = useWorkspace();

async function busyTcp(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as AddressInfo).port;
}

async function busyUdp(): Promise<number> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  defer(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return socket.address().port;
}

const host = ['-s', '--reverse-proxy', '--bind', '127.0.0.1', '--token', 'a-token-long-enough-to-pass'];
const client = ['-s', '--connect-reverse-proxy', '127.0.0.1:1', '--token', 't', '--exit-on-login-failure'];

describe('a port already in use', () => {
  const cases: Array<[string, (port: number) => string[], string, string, 'tcp' | 'udp']> = [
    ['host control', (p) => [...host, '--control-port', `${p}`], 'control port', '--control-port', 'tcp'],
    ['host node', (p) => [...host, '--control-port', '0', '--port', `${p}`], 'node server port', '--port', 'tcp'],
    [
      'host admin',
      (p) => [...host, '--control-port', '0', '--admin-port', `${p}`],
      'admin port',
      '--admin-port',
      'tcp',
    ],
    [
      'host http vhost',
      (p) => [...host, '--control-port', '0', '--vhost-http-port', `${p}`],
      'HTTP vhost port',
      '--vhost-http-port',
      'tcp',
    ],
    [
      'host https vhost',
      (p) => [...host, '--control-port', '0', '--vhost-https-port', `${p}`],
      'HTTPS vhost port',
      '--vhost-https-port',
      'tcp',
    ],
    ['host STUN', (p) => [...host, '--control-port', '0', '--stun-port', `${p}`], 'STUN port', '--stun-port', 'udp'],
    ['client node', (p) => [...client, '--port', `${p}`], 'node server port', '--port', 'tcp'],
    ['client node UDP', (p) => [...client, '--udp-port', `${p}`], 'node UDP port', '--udp-port', 'udp'],
  ];
  for (const [label, args, name, flag, kind] of cases) {
    it(`${label}: E_PORT_TAKEN naming the port, its number and ${flag}, exit 4`, async () => {
      const port = kind === 'tcp' ? await busyTcp() : await busyUdp();
      const r = await runCli([...args(port), '--config-dir', tempDir('port-in-use')]);
      expect(r.code).toBe(4);
      const where = kind === 'tcp' ? `${port} on 127.0.0.1` : `${port}(/udp)? on 127.0.0.1`;
      expect(r.stderr).toMatch(new RegExp(`E_PORT_TAKEN: ${name} ${where} is already in use \\(${flag}\\)`));
    });
  }
});
