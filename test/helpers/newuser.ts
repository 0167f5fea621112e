import net from 'node:net';
import { once } from 'node:events';
import { startCli, type Running } from './cli.js';

/** A host on loopback from the built CLI, with what a client needs to reach it. */
export async function startCliHost(
  dir: string,
  extra: string[] = [],
): Promise<{ host: Running; port: number; token: string }> {
  const host = startCli([
    '-s',
    '--reverse-proxy',
    '--bind',
    '127.0.0.1',
    '--control-port',
    '0',
    '--port',
    '0',
    '--json',
    '--config-dir',
    dir,
    ...extra,
  ]);
  const line = await host.waitFor((l) => l.includes('"host-started"'));
  const info = JSON.parse(line) as { port: number; connectCommand: string };
  return { host, port: info.port, token: /--token (\S+)/.exec(info.connectCommand)![1]! };
}

/** A port nothing listens on right now (bound on loopback, then closed). */
export async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}
