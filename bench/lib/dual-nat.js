import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

const run = promisify(execFile);

/**
 * Two private networks, each behind its own NAT router, and a public host between them:
 *
 *   owner (192.168.232.2) -- routerA (192.168.232.1 | 10.232.1.254) --+
 *                                                                      public / host (10.232.1.1, 10.232.2.1)
 *   visitor (192.168.233.2) -- routerB (192.168.233.1 | 10.232.2.254) -+
 *
 * Each router MASQUERADEs its private side (port-preserving: a "cone" NAT in practice) or, with
 * `symmetric`, uses `--random-fully` (a fresh random port per destination: a symmetric NAT). Only
 * replies may enter, and, like a home router, each drops unsolicited packets addressed to itself
 * before conntrack confirms them: without that rule an early punch packet leaves an entry that
 * makes the NAT pick another port, a failure real routers do not have.
 *
 * Shared by test/e2e/nat (typed in dual-bed.ts there) and `npm run bench:direct`.
 */
/** @param {{ symmetric?: 'owner' | 'visitor' }} options */
export async function createDualNatBed(options = {}) {
  const id = randomBytes(3).toString('hex');
  const ns = {
    public: `p2dp${id}`,
    routerA: `p2da${id}`,
    owner: `p2do${id}`,
    routerB: `p2db${id}`,
    visitor: `p2dv${id}`,
  };
  const exec = async (n, cmd, ...args) => (await run('ip', ['netns', 'exec', n, cmd, ...args])).stdout;
  const ip = (...args) => run('ip', args);
  const created = [];
  const destroy = async () => {
    for (const n of created.reverse()) await ip('netns', 'del', n).catch(() => undefined);
  };
  const link = async (a, aIf, aAddr, b, bIf, bAddr) => {
    await ip('link', 'add', aIf, 'netns', a, 'type', 'veth', 'peer', 'name', bIf, 'netns', b);
    await exec(a, 'ip', 'addr', 'add', aAddr, 'dev', aIf);
    await exec(b, 'ip', 'addr', 'add', bAddr, 'dev', bIf);
    await exec(a, 'ip', 'link', 'set', aIf, 'up');
    await exec(b, 'ip', 'link', 'set', bIf, 'up');
  };
  const router = async (r, outside, gateway, privateNet, symmetric) => {
    await exec(r, 'ip', 'route', 'add', 'default', 'via', gateway);
    await exec(r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    await exec(
      r,
      'iptables',
      '-t',
      'nat',
      '-A',
      'POSTROUTING',
      '-s',
      privateNet,
      '-o',
      outside,
      '-j',
      'MASQUERADE',
      ...(symmetric ? ['--random-fully'] : []),
    );
    await exec(
      r,
      'iptables',
      '-A',
      'FORWARD',
      '-i',
      outside,
      '-m',
      'state',
      '--state',
      'ESTABLISHED,RELATED',
      '-j',
      'ACCEPT',
    );
    await exec(r, 'iptables', '-A', 'FORWARD', '-i', outside, '-j', 'DROP');
    await exec(r, 'iptables', '-A', 'INPUT', '-i', outside, '-m', 'state', '--state', 'NEW', '-j', 'DROP');
  };
  try {
    for (const n of Object.values(ns)) {
      await ip('netns', 'add', n);
      created.push(n);
      await exec(n, 'ip', 'link', 'set', 'lo', 'up');
    }
    await link(ns.public, `pa${id}`, '10.232.1.1/24', ns.routerA, `ao${id}`, '10.232.1.254/24');
    await link(ns.public, `pb${id}`, '10.232.2.1/24', ns.routerB, `bo${id}`, '10.232.2.254/24');
    await link(ns.routerA, `ai${id}`, '192.168.232.1/24', ns.owner, `oa${id}`, '192.168.232.2/24');
    await link(ns.routerB, `bi${id}`, '192.168.233.1/24', ns.visitor, `vb${id}`, '192.168.233.2/24');
    await exec(ns.owner, 'ip', 'route', 'add', 'default', 'via', '192.168.232.1');
    await exec(ns.visitor, 'ip', 'route', 'add', 'default', 'via', '192.168.233.1');
    // The public side routes between the two routers: it is "the internet" as well as the host.
    await exec(ns.public, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    // The host has one public address, as a real one does: what it sends toward B comes from
    // 10.232.1.1 too. (A UDP socket bound to 0.0.0.0 on a two-address machine would answer B from
    // 10.232.2.1, which B's NAT rightly drops as unsolicited.)
    await exec(ns.public, 'ip', 'route', 'replace', '10.232.2.0/24', 'dev', `pb${id}`, 'src', '10.232.1.1');
    await router(ns.routerA, `ao${id}`, '10.232.1.1', '192.168.232.0/24', options.symmetric === 'owner');
    await router(ns.routerB, `bo${id}`, '10.232.2.1', '192.168.233.0/24', options.symmetric === 'visitor');
  } catch (err) {
    await destroy();
    throw err;
  }
  return { ns, hostIp: '10.232.1.1', natA: '10.232.1.254', natB: '10.232.2.254', exec, destroy };
}
