import { describe, expect, it } from 'vitest';
import { LocalFailureWarnings } from '../../src/protocol/local-warnings.js';

describe('LocalFailureWarnings', () => {
  it('says the first failure at once, then one line per tunnel per interval with the count it held back', () => {
    let now = 1_000;
    const lines: string[] = [];
    const w = new LocalFailureWarnings(
      (l) => lines.push(l),
      10_000,
      () => now,
    );
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:8999');
    w.failed('expose-8999', '127.0.0.1:8999', refused);
    for (let i = 0; i < 4; i++) w.failed('expose-8999', '127.0.0.1:8999', refused);
    w.failed('expose-7000', '127.0.0.1:7000', refused);
    expect(lines).toEqual([
      'local service 127.0.0.1:8999 unreachable: connect ECONNREFUSED 127.0.0.1:8999 (expose-8999: visitors get an empty reply until a service runs there)',
      'local service 127.0.0.1:7000 unreachable: connect ECONNREFUSED 127.0.0.1:8999 (expose-7000: visitors get an empty reply until a service runs there)',
    ]);
    now += 9_999;
    w.failed('expose-8999', '127.0.0.1:8999', refused);
    expect(lines).toHaveLength(2);
    now += 1;
    w.failed('expose-8999', '127.0.0.1:8999', refused);
    expect(lines[2]).toBe(
      'local service 127.0.0.1:8999 unreachable: connect ECONNREFUSED 127.0.0.1:8999 (expose-8999: visitors get an empty reply until a service runs there; 5 more since the last warning)',
    );
  });

  it('after the service answered again, its next failure is said at once', () => {
    const lines: string[] = [];
    const w = new LocalFailureWarnings(
      (l) => lines.push(l),
      10_000,
      () => 0,
    );
    w.failed('a', '127.0.0.1:1', new Error('x'));
    w.failed('a', '127.0.0.1:1', new Error('x'));
    w.recovered('a');
    w.failed('a', '127.0.0.1:1', new Error('y'));
    expect(lines.map((l) => l.split(': ')[1])).toEqual(['x (a', 'y (a']);
  });
});
