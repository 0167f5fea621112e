import { beforeEach, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as lib from '../../src/index.js';
import { parseArgs, selectCommand, type Command } from '../../src/cli/main.js';
import { nodeServiceOptions, serviceOwnerOptions } from '../../src/cli/connect.js';
import { hostServiceOptions } from '../../src/cli/host.js';
import type { Output } from '../../src/cli/output.js';
import { useWorkspace } from '../helpers/workspace.js';

// Flags -> library options: what each command hands the library, without starting anything.
const quiet: Output = { out: () => undefined, err: () => undefined, verbose: false };

const { tempDir, defer } = useWorkspace();
let dir: string;
const saved = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('P2PRC')));
// yargs reads P2PRC_* variables (.env('P2PRC')) from the live process.env object: the tests' own
// environment must not leak in, and the object is edited in place, never replaced.
const clearP2prcEnv = () =>
  Object.keys(process.env)
    .filter((k) => k.startsWith('P2PRC'))
    .forEach((k) => delete process.env[k]);
beforeEach(() => {
  dir = tempDir('cli-opts');
  clearP2prcEnv();
  defer(() => {
    clearP2prcEnv();
    Object.assign(process.env, saved);
  });
});

async function parsed(argv: string[]): Promise<{ command: Command; args: Record<string, unknown> }> {
  const command = selectCommand(argv);
  if (!command) throw new Error(`no command for ${argv.join(' ')}`);
  return { command, args: await parseArgs(command, argv) };
}

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return lib.isP2prcError(err) ? err.code : `not a P2prcError: ${String(err)}`;
  }
  return 'no error';
}

describe('mode flags pick the command', () => {
  it('maps each P2PRC-style mode to its module, and two modes at once are E_USAGE', async () => {
    const connect = await import('../../src/cli/connect.js');
    const host = await import('../../src/cli/host.js');
    const node = await import('../../src/cli/node.js');
    const frp = await import('../../src/cli/frp.js');
    expect(selectCommand(['-s', '--connect-reverse-proxy', 'x'])?.run).toBe(connect.run);
    expect(selectCommand(['-s', '--reverse-proxy'])?.run).toBe(host.run);
    expect(selectCommand(['--connect-reverse-proxy=1.2.3.4'])?.run).toBe(connect.run);
    expect(selectCommand(['-s'])?.run).toBe(node.run);
    expect(selectCommand(['frp', 'which'])).toBe(frp.which);
    expect(selectCommand(['frp', 'install', '--version', '0.31.2'])).toBe(frp.install);
    expect(selectCommand(['frp'])?.run).toBe(frp.run);
    expect(selectCommand(['--json'])).toBeUndefined();
    expect(await code(() => selectCommand(['--view-rps', '--view-rpm']))).toBe('E_USAGE');
  });
});

describe('-s --connect-reverse-proxy', () => {
  it('turns flags into runNodeService options', async () => {
    const { args } = await parsed([
      '-s',
      '--connect-reverse-proxy',
      '[::1]:7100',
      '--config-dir',
      dir,
      '--expose',
      '3000',
      '--expose',
      'udp:5353:6000',
      '--remote-port',
      '6001',
      '--heartbeat',
      '2.5',
      '--failover-after',
      '4',
      '--exchange-interval',
      '7',
      '--bootstrap',
      '127.0.0.1:8088',
      '--no-tls',
      '--engine',
      'auto',
    ]);
    const o = nodeServiceOptions(lib, args, quiet);
    expect(o).toMatchObject({
      configDir: dir,
      proxy: { host: '::1', port: 7100 },
      remotePort: 6001,
      heartbeatMs: 2500,
      failoverMs: 4000,
      exchangeIntervalMs: 7000,
      staleMs: 300_000,
      bootstrap: ['127.0.0.1:8088'],
      tls: false,
      engine: 'auto',
      protocol: 'p2prc',
      tcpMux: true,
      exitOnLoginFailure: false,
      expose: [
        { protocol: 'tcp', localPort: 3000, remotePort: 'any' },
        { protocol: 'udp', localPort: 5353, remotePort: 6000 },
      ],
    });
    expect(o.port).toBeUndefined();
    expect(o.onLog).toBeUndefined(); // frpc's own log only with --verbose
  });

  it('an empty address or "auto" means automatic choice; the default port is 7000', async () => {
    expect(
      nodeServiceOptions(
        lib,
        (await parsed(['-s', '--connect-reverse-proxy', 'auto', '--config-dir', dir])).args,
        quiet,
      ).proxy,
    ).toBe('auto');
    expect(
      nodeServiceOptions(lib, (await parsed(['-s', '--connect-reverse-proxy', '', '--config-dir', dir])).args, quiet)
        .proxy,
    ).toBe('auto');
    expect(
      nodeServiceOptions(
        lib,
        (await parsed(['-s', '--connect-reverse-proxy', '127.0.0.1', '--config-dir', dir])).args,
        quiet,
      ).proxy,
    ).toEqual({ host: '127.0.0.1', port: 7000 });
  });

  it('bad values are E_USAGE, named at the edge', async () => {
    for (const bad of [
      ['--remote-port', '70000'],
      ['--port', '-1'],
      ['--heartbeat', '0'],
      ['--expose', '3000:x'],
      ['--stale-after', '0'],
    ]) {
      // Refused where it is first seen: a number as typed while parsing, the rest by the options.
      const argv = ['-s', '--connect-reverse-proxy', '127.0.0.1:7000', '--config-dir', dir, ...bad];
      const check = async () => nodeServiceOptions(lib, (await parsed(argv)).args, quiet);
      expect(await code(check), bad.join(' ')).toBe('E_USAGE');
    }
    expect(await code(parsed(['-s', '--connect-reverse-proxy', '127.0.0.1', '--no-such-flag']))).toBe('E_USAGE');
    expect(await code(parsed(['-s', '--connect-reverse-proxy', '127.0.0.1', '--engine', 'warp']))).toBe('E_USAGE');
  });

  it('--service: the first TCP --expose is the service, status lines go to stderr', async () => {
    const err: string[] = [];
    const { args } = await parsed([
      '-s',
      '--connect-reverse-proxy',
      '127.0.0.1:7001',
      '--service',
      'db',
      '--expose',
      'udp:53',
      '--expose',
      '5432',
      '--config-dir',
      dir,
    ]);
    const o = serviceOwnerOptions(lib, args, { ...quiet, err: (l) => err.push(l) });
    expect(o).toMatchObject({
      configDir: dir,
      proxy: { host: '127.0.0.1', port: 7001 },
      serviceId: 'db',
      localPort: 5432,
      description: '',
      tls: true,
    });
    o.onStatus!('status: reconnected');
    expect(err).toEqual(['status: reconnected']);
  });

  it('P2PRC_* variables fill flags that were not given', async () => {
    process.env.P2PRC_TOKEN = 'from-env';
    const { args } = await parsed(['-s', '--connect-reverse-proxy', '127.0.0.1', '--config-dir', dir]);
    expect(nodeServiceOptions(lib, args, quiet).token).toBe('from-env');
  });
});

describe('-s --reverse-proxy', () => {
  it("turns flags into runHostService options; control port and token left to the library's config fallback", async () => {
    const { args } = await parsed([
      '-s',
      '--reverse-proxy',
      '--config-dir',
      dir,
      '--allow-ports',
      '6000-6002,7000',
      '--insecure',
      '--grace',
      '1.5',
      '--frp-compat',
      'off',
      '--open',
    ]);
    const o = await hostServiceOptions(lib, args);
    expect(o).toMatchObject({
      configDir: dir,
      bind: '0.0.0.0',
      tls: false,
      graceMs: 1500,
      heartbeatMs: 10_000,
      frpCompat: false,
      open: true,
      engine: 'native',
      maxClients: 1024,
    });
    expect(o.allowPorts).toEqual([
      { start: 6000, end: 6002 },
      { start: 7000, end: 7000 },
    ]);
    expect(o.controlPort).toBeUndefined();
    expect(o.token).toBeUndefined();
    expect(o.users).toBeUndefined();
  });

  it('--users loads the users file through the library; a missing one is E_CONFIG', async () => {
    const users = path.join(dir, 'users.json');
    await lib.addUser(users, 'alice', 'long-enough-password');
    const o = await hostServiceOptions(
      lib,
      (await parsed(['-s', '--reverse-proxy', '--config-dir', dir, '--users', users])).args,
    );
    expect(o.users?.map((u) => u.name)).toEqual(['alice']);
    await writeFile(path.join(dir, 'broken.json'), '{');
    expect(
      await code(async () =>
        hostServiceOptions(
          lib,
          (await parsed(['-s', '--reverse-proxy', '--users', path.join(dir, 'missing.json')])).args,
        ),
      ),
    ).toBe('E_CONFIG');
    expect(
      await code(async () =>
        hostServiceOptions(
          lib,
          (await parsed(['-s', '--reverse-proxy', '--users', path.join(dir, 'broken.json')])).args,
        ),
      ),
    ).toBe('E_CONFIG');
  });
});
