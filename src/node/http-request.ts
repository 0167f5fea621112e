import http from 'node:http';
import https from 'node:https';
import { P2prcError } from '../errors.js';

export interface CappedRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: Buffer;
}

/**
 * One HTTP request bounded in time (the whole exchange, body included) and in body size (checked
 * while streaming, before buffering more). Resolves with the status and the body for any status;
 * rejects on I/O failure.
 *
 * node:http rather than the global fetch: the first fetch loads undici and compiles its WebAssembly
 * parser, about 10 MB that a node polling its peers keeps for the life of the process (an idle
 * client among them). Redirects are not followed: a peer's node server answers where it was asked.
 */
export function requestCapped(
  url: string,
  init: CappedRequest,
  timeoutMs: number,
  maxBytes: number,
): Promise<{ status: number; body: string }> {
  const method = init.method ?? 'GET';
  const what = `${method} ${url}`;
  let target: URL;
  try {
    target = new URL(url);
  } catch (err) {
    return Promise.reject(new P2prcError('E_USAGE', `${what}: not a URL`, { cause: err }));
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    return Promise.reject(new P2prcError('E_USAGE', `${what}: only http and https`));
  const signal = AbortSignal.timeout(timeoutMs);
  const headers: Record<string, string | number> = { ...init.headers };
  if (init.body) headers['content-length'] = init.body.length;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: P2prcError): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(err);
    };
    const ioError = (err: Error): void => {
      const timedOut = signal.aborted;
      fail(
        new P2prcError(
          timedOut ? 'E_TIMEOUT' : 'E_UNREACHABLE',
          `${what}: ${timedOut ? `no answer within ${timeoutMs} ms` : err.message}`,
          { cause: err },
        ),
      );
    };
    let req: http.ClientRequest;
    try {
      req = (target.protocol === 'https:' ? https : http).request(
        target,
        { method, headers, signal, agent: false },
        onResponse,
      );
    } catch (err) {
      // A header Node refuses (a control character in a value) throws before any I/O.
      return reject(new P2prcError('E_USAGE', `${what}: ${(err as Error).message}`, { cause: err }));
    }
    req.on('error', ioError);
    req.end(init.body);

    function onResponse(res: http.IncomingMessage): void {
      const declared = Number(res.headers['content-length'] ?? NaN);
      if (declared > maxBytes)
        return fail(new P2prcError('E_TOO_LARGE', `body of ${declared} bytes exceeds ${maxBytes}`));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) return fail(new P2prcError('E_TOO_LARGE', `body exceeds ${maxBytes} bytes`));
        chunks.push(chunk);
      });
      res.on('error', ioError);
      res.on('end', () => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
    }
  });
}
