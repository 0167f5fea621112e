import { describe, expect, it } from 'vitest';
import { P2prcError } from '../../src/errors.js';
import { publishWithPortRetry, type PortSpec } from '../../src/protocol/port-retry.js';

/** "Free" ports handed out in order, never one in `exclude`; records every exclude list it was given. */
function ports(start = 20_000) {
  let next = start;
  const asked: number[][] = [];
  return {
    asked,
    freePort: async (exclude: number[]) => {
      asked.push(exclude);
      while (exclude.includes(next)) next++;
      return next++;
    },
  };
}

const refuse = (proxy: string) => new P2prcError('E_PORT_TAKEN', 'port unavailable', { details: { proxy } });

describe('publishWithPortRetry', () => {
  it('moves a refused "any" port to one never tried before, keeping the local port', async () => {
    const free = ports();
    const seen: Array<Record<string, [number, number]>> = [];
    const specs: PortSpec[] = [
      { name: 'a', protocol: 'tcp', localPort: 8080, remotePort: 'any' },
      { name: 'b', protocol: 'tcp', localPort: 8081, remotePort: 'any' },
    ];
    const { ports: final } = await publishWithPortRetry(
      specs,
      { hostIsLocal: true, freePort: free.freePort },
      async (p) => {
        seen.push(Object.fromEntries([...p].map(([k, v]) => [k, [v.local, v.remote]])));
        if (seen.length <= 2) throw refuse('a');
        return 'ok';
      },
    );
    const remotesOfA = seen.map((s) => s.a![1]);
    expect(new Set(remotesOfA).size).toBe(3); // three attempts, three different ports for a
    expect(remotesOfA).not.toContain(seen[0]!.b![1]); // never b's port either
    expect(final.get('a')!.local).toBe(8080);
    expect(final.get('b')).toEqual({ local: 8081, remote: seen[0]!.b![1] });
    // every later pick excluded all ports tried so far
    for (const r of remotesOfA.slice(0, -1)) expect(free.asked.at(-1)).toContain(r);
  });

  it('binds a chosen local port with listen, and uses the same number publicly when the host is remote', async () => {
    const listened: number[] = [];
    const spec: PortSpec = {
      name: 'n',
      protocol: 'tcp',
      listen: async (p) => void listened.push(p),
      remotePort: 'any',
    };
    const { ports: p } = await publishWithPortRetry(
      [spec],
      { hostIsLocal: false, freePort: ports(30_000).freePort },
      async () => 1,
    );
    expect(listened).toEqual([30_000]);
    expect(p.get('n')).toEqual({ local: 30_000, remote: 30_000 });
  });

  it('does not move a requested port: the refusal is the answer', async () => {
    const spec: PortSpec = { name: 'fixed', protocol: 'tcp', localPort: 9000, remotePort: 6001 };
    let tries = 0;
    await expect(
      publishWithPortRetry([spec], { hostIsLocal: true, freePort: ports().freePort }, async () => {
        tries++;
        throw refuse('fixed');
      }),
    ).rejects.toMatchObject({ code: 'E_PORT_TAKEN' });
    expect(tries).toBe(1);
  });

  it('gives up after maxAttempts, and passes other errors straight through', async () => {
    const spec: PortSpec = { name: 'a', protocol: 'tcp', localPort: 9000, remotePort: 'any' };
    let tries = 0;
    await expect(
      publishWithPortRetry([spec], { hostIsLocal: true, freePort: ports().freePort, maxAttempts: 4 }, async () => {
        tries++;
        throw refuse('a');
      }),
    ).rejects.toMatchObject({ code: 'E_PORT_TAKEN' });
    expect(tries).toBe(4);
    await expect(
      publishWithPortRetry([spec], { hostIsLocal: true, freePort: ports().freePort }, async () => {
        throw new P2prcError('E_AUTH', 'no');
      }),
    ).rejects.toMatchObject({ code: 'E_AUTH' });
  });
});
