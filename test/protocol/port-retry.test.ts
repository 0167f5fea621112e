import { describe, expect, it } from 'vitest';
import { P2prcError } from '../../src/errors.js';
import { assignedPort, publishWithPortRetry, type PortSpec } from '../../src/protocol/port-retry.js';

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
  it('asks for 0 ("any": the server picks) and for a previous port first, falling back to 0 on refusal', async () => {
    const seen: Array<Record<string, [number, number]>> = [];
    const specs: PortSpec[] = [
      { name: 'a', protocol: 'tcp', localPort: 8080, remotePort: 'any', previous: 6001 },
      { name: 'b', protocol: 'tcp', localPort: 8081, remotePort: 'any' },
      { name: 'c', protocol: 'udp', localPort: 8082, remotePort: 'any', previous: 6003 },
    ];
    const retries: string[] = [];
    const { ports: final } = await publishWithPortRetry(
      specs,
      { hostIsLocal: false, freePort: ports().freePort, onRetry: (m) => retries.push(m) },
      async (p) => {
        seen.push(Object.fromEntries([...p].map(([k, v]) => [k, [v.local, v.remote]])));
        if (seen.length === 1) throw refuse('a');
        if (seen.length === 2) throw new P2prcError('E_PORT_DENIED', 'port not allowed', { details: { proxy: 'c' } });
        return 'ok';
      },
    );
    expect(seen).toEqual([
      { a: [8080, 6001], b: [8081, 0], c: [8082, 6003] },
      { a: [8080, 0], b: [8081, 0], c: [8082, 6003] },
      { a: [8080, 0], b: [8081, 0], c: [8082, 0] },
    ]);
    expect(final.get('a')).toEqual({ local: 8080, remote: 0 });
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatch(/^frps refused port 6001 for a .*letting frps choose one$/);
  });

  it('binds a chosen local port with listen and asks a remote host for the same number, "any" or fixed', async () => {
    const listened: number[] = [];
    const listen = async (p: number) => void listened.push(p);
    const { ports: p } = await publishWithPortRetry(
      [
        { name: 'n', protocol: 'tcp', listen, remotePort: 'any' },
        { name: 'f', protocol: 'tcp', listen, remotePort: 6001 },
      ],
      { hostIsLocal: false, freePort: ports(30_000).freePort },
      async () => 1,
    );
    expect(listened).toEqual([30_000, 6001]);
    expect(p.get('n')).toEqual({ local: 30_000, remote: 30_000 });
    expect(p.get('f')).toEqual({ local: 6001, remote: 6001 });
    // A host on this machine cannot share the number: frps chooses.
    const same = await publishWithPortRetry(
      [{ name: 'n', protocol: 'tcp', listen, remotePort: 'any' }],
      { hostIsLocal: true, freePort: ports(31_000).freePort },
      async () => 1,
    );
    expect(same.ports.get('n')).toEqual({ local: 31_000, remote: 0 });
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

  it('gives up when the server refuses 0 too, and passes other errors straight through', async () => {
    const spec: PortSpec = { name: 'a', protocol: 'tcp', localPort: 9000, remotePort: 'any', previous: 6001 };
    let tries = 0;
    await expect(
      publishWithPortRetry([spec], { hostIsLocal: true, freePort: ports().freePort }, async () => {
        tries++;
        throw refuse('a');
      }),
    ).rejects.toMatchObject({ code: 'E_PORT_TAKEN' });
    expect(tries).toBe(2);
    await expect(
      publishWithPortRetry([spec], { hostIsLocal: true, freePort: ports().freePort }, async () => {
        throw new P2prcError('E_AUTH', 'no');
      }),
    ).rejects.toMatchObject({ code: 'E_AUTH' });
  });

  it("reads the port from frp's remote_addr", () => {
    expect(assignedPort(':33012')).toBe(33012);
    expect(assignedPort('203.0.113.10:6000')).toBe(6000);
    expect(assignedPort('[::1]:6000')).toBe(6000);
    for (const bad of ['', '127.0.0.1', ':0', ':70000', 'example.com']) expect(assignedPort(bad)).toBeUndefined();
  });
});
