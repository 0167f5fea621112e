import type { Duplex } from 'node:stream';
import { P2prcError } from '../../errors.js';
import { FrpMessageDecoder, type FrpMessage } from './messages.js';

/** Reads frp messages from a stream until `want` matches; the stream is left paused with what followed returned. */
export function readMessages(
  stream: Duplex,
  want: (m: FrpMessage) => boolean,
  timeoutMs: number,
): Promise<{ message: FrpMessage; rest: Buffer }> {
  const decoder = new FrpMessageDecoder();
  return new Promise((resolve, reject) => {
    const finish = (err?: Error, found?: { message: FrpMessage; rest: Buffer }) => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('close', onClose);
      stream.off('error', onError);
      stream.pause();
      if (err) reject(err);
      else resolve(found!);
    };
    const onData = (chunk: Buffer) => {
      try {
        decoder.write(chunk);
        for (let m = decoder.read(); m; m = decoder.read())
          if (want(m)) return finish(undefined, { message: m, rest: decoder.rest() });
      } catch (err) {
        finish(err as Error);
      }
    };
    const onClose = () => finish(new P2prcError('E_CLOSED', 'frps closed the connection'));
    const onError = (err: Error) => finish(new P2prcError('E_CLOSED', 'the frp connection failed', { cause: err }));
    const timer = setTimeout(() => finish(new P2prcError('E_TIMEOUT', 'frps did not answer in time')), timeoutMs);
    stream.on('data', onData);
    stream.once('close', onClose);
    stream.once('error', onError);
  });
}
