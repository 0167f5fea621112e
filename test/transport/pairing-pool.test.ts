import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PairingPool } from '../../src/transport/pairing-pool.js';

afterEach(() => vi.useRealTimers());

/** A pool over in-memory streams; `pairs` records who met whom. */
function pool(limits = { maxWaiting: 3, waitMs: 1_000 }) {
  const pairs: Array<[string, PassThrough, PassThrough]> = [];
  const expired: string[] = [];
  const p = new PairingPool<string, PassThrough, PassThrough>(limits, {
    pair: (target, visitor, work) => pairs.push([target, visitor, work]),
    expired: (target) => expired.push(target),
  });
  return { p, pairs, expired };
}

describe('PairingPool', () => {
  it('pairs a parked work connection with the next visitor, and a waiting visitor with the next work connection', () => {
    const { p, pairs } = pool();
    const w1 = new PassThrough();
    p.addWork(w1);
    expect(p.idleCount).toBe(1);
    const v1 = new PassThrough();
    expect(p.addVisitor('a', v1)).toBe('paired');
    expect(pairs).toEqual([['a', v1, w1]]);
    const v2 = new PassThrough();
    expect(p.addVisitor('b', v2)).toBe('waiting');
    const w2 = new PassThrough();
    p.addWork(w2);
    expect(pairs[1]).toEqual(['b', v2, w2]);
    expect(p.idleCount + p.waitingCount).toBe(0);
  });

  it('hands sockets over with none of its listeners left on them', () => {
    const { p } = pool();
    const work = new PassThrough();
    const visitor = new PassThrough();
    const before = {
      close: work.listenerCount('close'),
      error: work.listenerCount('error'),
      end: work.listenerCount('end'),
    };
    p.addWork(work);
    expect(work.listenerCount('end')).toBe(before.end + 1);
    p.addVisitor('a', visitor);
    expect({
      close: work.listenerCount('close'),
      error: work.listenerCount('error'),
      end: work.listenerCount('end'),
    }).toEqual(before);
    const waiting = new PassThrough();
    const vBefore = waiting.listenerCount('close');
    p.addVisitor('b', waiting);
    p.addWork(new PassThrough());
    expect(waiting.listenerCount('close')).toBe(vBefore);
    expect(waiting.listenerCount('error')).toBe(0);
  });

  it('refuses (closes) a visitor beyond maxWaiting', () => {
    const { p } = pool({ maxWaiting: 2, waitMs: 1_000 });
    const vs = [new PassThrough(), new PassThrough(), new PassThrough()];
    expect(vs.map((v, i) => p.addVisitor(String(i), v))).toEqual(['waiting', 'waiting', 'refused']);
    expect(vs[2]!.destroyed).toBe(true);
    expect(vs[0]!.destroyed).toBe(false);
    expect(p.waitingCount).toBe(2);
    p.close();
  });

  it('drops a visitor that waited waitMs, and reports it', () => {
    vi.useFakeTimers();
    const { p, expired } = pool({ maxWaiting: 10, waitMs: 500 });
    const v = new PassThrough();
    p.addVisitor('late', v);
    vi.advanceTimersByTime(499);
    expect(v.destroyed).toBe(false);
    vi.advanceTimersByTime(1);
    expect(v.destroyed).toBe(true);
    expect(expired).toEqual(['late']);
    expect(p.waitingCount).toBe(0);
  });

  it('forgets a waiting visitor that closes, so the next work connection is parked for a live one', async () => {
    const { p, pairs } = pool();
    const v = new PassThrough();
    p.addVisitor('gone', v);
    v.destroy();
    await once(v, 'close');
    expect(p.waitingCount).toBe(0);
    p.addWork(new PassThrough());
    expect(pairs).toEqual([]);
    expect(p.idleCount).toBe(1);
  });

  it('forgets a parked work connection that ends or closes', async () => {
    const { p } = pool();
    const ended = new PassThrough();
    const closed = new PassThrough();
    p.addWork(ended);
    p.addWork(closed);
    ended.end();
    closed.destroy();
    await Promise.all([once(ended, 'close'), once(closed, 'close')]);
    expect(p.idleCount).toBe(0);
  });

  it('close() destroys everything parked and waiting, and refuses later arrivals', () => {
    const { p, pairs } = pool();
    const w = new PassThrough();
    p.addWork(w);
    const p2 = pool();
    const v = new PassThrough();
    p2.p.addVisitor('x', v);
    p.close();
    p2.p.close();
    expect(w.destroyed).toBe(true);
    expect(v.destroyed).toBe(true);
    const late = new PassThrough();
    p.addWork(late);
    expect(late.destroyed).toBe(true);
    const lateVisitor = new PassThrough();
    expect(p.addVisitor('y', lateVisitor)).toBe('refused');
    expect(lateVisitor.destroyed).toBe(true);
    expect(pairs).toEqual([]);
  });
});
