import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

const run = promisify(execFile);

/**
 * A NAT test bed in network namespaces, made and torn down by the test itself:
 *
 *   visitor (10.231.2.2) -- public (10.231.2.1 | 10.231.1.1) -- router (10.231.1.254 | 192.168.231.1, MASQUERADE) -- private (192.168.231.2)
 *
 * The private side reaches the public one through the router's NAT; nothing on the public side has
 * a route to the private network. Names carry a random suffix so parallel runs do not clash.
 */
export interface NatBed {
  ns: { public: string; router: string; private: string; visitor: string };
  hostIp: string;
  privateIp: string;
  exec(ns: string, cmd: string, ...args: string[]): Promise<string>;
  /** Black-holes the private side's traffic in the router until `lift()`. */
  dropPrivate(): Promise<void>;
  liftDrop(): Promise<void>;
  destroy(): Promise<void>;
}

export async function canUseNetns(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root (run as root, as CI does)';
  for (const [tool, flag] of [
    ['ip', '-V'],
    ['iptables', '--version'],
  ] as const) {
    try {
      await run(tool, [flag]);
    } catch {
      return `${tool} is not installed (apt-get install -y iproute2 iptables)`;
    }
  }
  const probe = `p2probe${randomBytes(3).toString('hex')}`;
  try {
    await run('ip', ['netns', 'add', probe]);
    await run('ip', ['netns', 'del', probe]);
  } catch (err) {
    return `cannot create network namespaces here: ${(err as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

export async function createNatBed(): Promise<NatBed> {
  const id = randomBytes(3).toString('hex');
  const ns = { public: `p2pub${id}`, router: `p2rtr${id}`, private: `p2prv${id}`, visitor: `p2vis${id}` };
  const exec = async (n: string, cmd: string, ...args: string[]) =>
    (await run('ip', ['netns', 'exec', n, cmd, ...args])).stdout;
  const ip = (...args: string[]) => run('ip', args);
  const created: string[] = [];
  const destroy = async () => {
    for (const n of created.reverse()) await ip('netns', 'del', n).catch(() => undefined);
  };
  try {
    for (const n of Object.values(ns)) {
      await ip('netns', 'add', n);
      created.push(n);
      await exec(n, 'ip', 'link', 'set', 'lo', 'up');
    }
    const link = async (a: string, aIf: string, aAddr: string, b: string, bIf: string, bAddr: string) => {
      await ip('link', 'add', aIf, 'netns', a, 'type', 'veth', 'peer', 'name', bIf, 'netns', b);
      await exec(a, 'ip', 'addr', 'add', aAddr, 'dev', aIf);
      await exec(b, 'ip', 'addr', 'add', bAddr, 'dev', bIf);
      await exec(a, 'ip', 'link', 'set', aIf, 'up');
      await exec(b, 'ip', 'link', 'set', bIf, 'up');
    };
    await link(ns.public, `pr${id}`, '10.231.1.1/24', ns.router, `rp${id}`, '10.231.1.254/24');
    await link(ns.router, `rv${id}`, '192.168.231.1/24', ns.private, `vr${id}`, '192.168.231.2/24');
    await link(ns.public, `pv${id}`, '10.231.2.1/24', ns.visitor, `vp${id}`, '10.231.2.2/24');
    await exec(ns.private, 'ip', 'route', 'add', 'default', 'via', '192.168.231.1');
    await exec(ns.visitor, 'ip', 'route', 'add', 'default', 'via', '10.231.2.1');
    await exec(ns.router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    await exec(ns.public, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    await exec(
      ns.router,
      'iptables',
      '-t',
      'nat',
      '-A',
      'POSTROUTING',
      '-s',
      '192.168.231.0/24',
      '-o',
      `rp${id}`,
      '-j',
      'MASQUERADE',
    );
    // Only replies may enter the private network: the router is a NAT, not a router for the public side.
    await exec(
      ns.router,
      'iptables',
      '-A',
      'FORWARD',
      '-i',
      `rp${id}`,
      '-m',
      'state',
      '--state',
      'ESTABLISHED,RELATED',
      '-j',
      'ACCEPT',
    );
    await exec(ns.router, 'iptables', '-A', 'FORWARD', '-i', `rp${id}`, '-j', 'DROP');
  } catch (err) {
    await destroy();
    throw err;
  }
  return {
    ns,
    hostIp: '10.231.1.1',
    privateIp: '192.168.231.2',
    exec,
    dropPrivate: async () =>
      void (await exec(ns.router, 'iptables', '-I', 'FORWARD', '1', '-s', '192.168.231.2', '-j', 'DROP')),
    liftDrop: async () =>
      void (await exec(ns.router, 'iptables', '-D', 'FORWARD', '-s', '192.168.231.2', '-j', 'DROP')),
    destroy,
  };
}
