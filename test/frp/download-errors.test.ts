import { describe, expect, it } from 'vitest';
import { fetchFailureReason } from '../../src/frp/install.js';

// fetch rejects with "fetch failed" for every network failure; the reason is in its cause.
const fetchFailed = (cause: unknown) => Object.assign(new TypeError('fetch failed'), { cause });

describe('why a download failed', () => {
  it('says what the OS said: a name that does not resolve, a refused connection', () => {
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND mirror.example'), {
      code: 'ENOTFOUND',
      hostname: 'mirror.example',
    });
    expect(fetchFailureReason(fetchFailed(notFound))).toBe('getaddrinfo ENOTFOUND mirror.example');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8080'), { code: 'ECONNREFUSED' });
    expect(fetchFailureReason(fetchFailed(refused))).toBe('connect ECONNREFUSED 127.0.0.1:8080');
  });

  it('lists each address of a name that resolved to several, with the code', () => {
    const both = Object.assign(
      new AggregateError(
        [new Error('connect ECONNREFUSED ::1:8080'), new Error('connect ECONNREFUSED 127.0.0.1:8080')],
        '',
      ),
      { code: 'ECONNREFUSED' },
    );
    expect(fetchFailureReason(fetchFailed(both))).toBe(
      'connect ECONNREFUSED ::1:8080; connect ECONNREFUSED 127.0.0.1:8080',
    );
    expect(fetchFailureReason(fetchFailed(Object.assign(new Error(''), { code: 'ECONNRESET' })))).toBe('ECONNRESET');
  });

  it('a timeout says how long it waited; anything else keeps its own message', () => {
    expect(fetchFailureReason(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toBe(
      'no answer within 120 s',
    );
    expect(fetchFailureReason(new Error('terminated'))).toBe('terminated');
  });
});
