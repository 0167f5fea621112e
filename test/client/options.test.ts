import { describe, expect, it } from 'vitest';
import { resolveConnectOptions, type ConnectOptions } from '../../src/client/options.js';
import { DEFAULT_BACKOFF } from '../../src/protocol/backoff.js';

const base: ConnectOptions = { host: '127.0.0.1', token: 't', tunnels: [{ name: 'web', localPort: 8080 }] };

function usageError(o: ConnectOptions): string {
  try {
    resolveConnectOptions(o);
  } catch (err) {
    expect(err).toMatchObject({ name: 'P2prcError', code: 'E_USAGE' });
    return (err as Error).message;
  }
  throw new Error('expected E_USAGE');
}

describe('connect options', () => {
  it('fills the documented defaults', () => {
    const r = resolveConnectOptions(base);
    expect(r).toMatchObject({
      port: 7000,
      tls: true,
      fingerprint: undefined,
      services: [],
      user: undefined,
      heartbeatMs: 10_000,
      connectTimeoutMs: 10_000,
      poolSize: 8,
      maxRetries: Number.POSITIVE_INFINITY,
      exitOnLoginFailure: false,
    });
    expect(r.backoff).toEqual(DEFAULT_BACKOFF);
    expect(r.clientId).toMatch(/^[0-9a-f]{24}$/);
    expect(resolveConnectOptions(base).clientId).not.toBe(r.clientId);
  });

  it('keeps what was given, merging a partial backoff over the default', () => {
    const r = resolveConnectOptions({
      ...base,
      port: 7443,
      tls: false,
      clientId: 'me',
      name: 'laptop',
      poolSize: 0,
      backoff: { maxMs: 50 },
    });
    expect(r).toMatchObject({ port: 7443, tls: false, clientId: 'me', name: 'laptop', poolSize: 0 });
    expect(r.backoff).toEqual({ ...DEFAULT_BACKOFF, maxMs: 50 });
  });

  it('refuses each bad value with E_USAGE, naming the option or tunnel and the value', () => {
    const listen = async () => undefined;
    const cases: Array<[ConnectOptions, string]> = [
      [{ ...base, host: '' }, 'host'],
      [{ ...base, token: '' }, 'token'],
      [{ ...base, port: 0 }, 'got 0'],
      [{ ...base, port: 65536 }, 'got 65536'],
      [{ ...base, port: 1.5 }, 'got 1.5'],
      [
        {
          ...base,
          tunnels: [
            { name: 'a', localPort: 1 },
            { name: 'a', localPort: 2 },
          ],
        },
        '"a"',
      ],
      [{ ...base, tunnels: [{ name: 'u', protocol: 'udp', listen }] }, 'tunnel u'],
      [{ ...base, tunnels: [{ name: 'x' }] }, 'tunnel x'],
      [{ ...base, tunnels: [{ name: 'r', localPort: 1, remotePort: 70000 }] }, 'got 70000'],
      [{ ...base, services: [{ id: 'bad id', secret: 's', localPort: 1 }] }, '"bad id"'],
      [{ ...base, services: [{ id: 'svc', secret: '', localPort: 1 }] }, 'service svc'],
    ];
    for (const [o, named] of cases) expect(usageError(o)).toContain(named);
  });

  it('accepts "any", a listen callback instead of a port, and service ids at the 64-character limit', () => {
    const r = resolveConnectOptions({
      ...base,
      tunnels: [
        { name: 'a', localPort: 1, remotePort: 'any' },
        { name: 'b', listen: async () => undefined },
      ],
      services: [{ id: 'x'.repeat(64), secret: 's', localPort: 1 }],
    });
    expect(r.tunnels.map((t) => t.name)).toEqual(['a', 'b']);
    expect(usageError({ ...base, services: [{ id: 'x'.repeat(65), secret: 's', localPort: 1 }] })).toContain('1-64');
  });
});
