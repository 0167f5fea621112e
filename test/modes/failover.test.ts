import { afterEach, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { P2prcError } from '../../src/errors.js';
import { FailoverPublisher } from '../../src/modes/failover.js';
import type { Candidate } from '../../src/modes/choose-host.js';
import type { Publisher } from '../../src/modes/publishers.js';
import { cleanup, defer } from '../helpers/engine.js';

afterEach(cleanup);

const candidate = (port: number, peer: boolean): Candidate => ({
  host: '192.0.2.7',
  port,
  tls: true,
  fingerprint: undefined,
  token: 't',
  latencyMs: 1,
  reason: 'test',
  ...(peer ? { peer: true as const } : {}),
});

/** A publisher that never dials: the host at `refusing` refuses the token, any other publishes. */
function fakePublisher(c: Candidate, refusing: number, tried: number[]): Publisher {
  const pub = Object.assign(new EventEmitter(), {
    start: async () => {
      tried.push(c.port);
      if (c.port === refusing) throw new P2prcError('E_AUTH', 'wrong token');
      return [];
    },
    published: () => [],
    close: async () => undefined,
  });
  return pub as unknown as Publisher;
}

describe('failover across ranked hosts', () => {
  it("after a token refusal, skips the peer's other ports on that address in the same pass, not the operator's", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'p2prc-failover-'));
    defer(() => rm(dir, { recursive: true, force: true }));
    const tried: number[] = [];
    const status: string[] = [];
    const f = new FailoverPublisher({
      configDir: dir,
      failoverMs: 30_000,
      rank: async () => ({
        ranked: [candidate(7001, true), candidate(7002, true), candidate(7003, false)],
        skipped: [],
      }),
      make: (c) => fakePublisher(c, 7001, tried),
    });
    defer(() => f.close());
    f.on('status', (l: string) => status.push(l));
    await f.start();
    expect(tried).toEqual([7001, 7003]);
    expect(status.some((l) => l.includes('skipping 192.0.2.7:7002') && l.includes('refused our token'))).toBe(true);
  });
});
