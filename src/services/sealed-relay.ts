import type { Duplex } from 'node:stream';
import { P2prcError } from '../errors.js';
import type { Opener, Sealer } from './e2e.js';

export interface SealedRelayOptions {
  sealer: Sealer;
  opener: Opener;
  /** Plaintext already opened (what came with the start marker), written to `local` first. */
  toLocal: Buffer[];
  /** Called once, with the first failure; both sides are destroyed by then. */
  onFailure(err: Error): void;
}

/**
 * Relays plaintext `local` <-> sealed records on `link` with the sockets' own events, without a
 * Transform or pipeline between them: a chunk read from one side is sealed (or opened) and written to
 * the other in the same tick, a chunk's records in one write, and the reading side is paused while
 * the writing side is full. Each direction ends with the end record (sent on `local`'s end, required
 * before `link`'s); a side that closes before its direction ended, an error or a bad record destroys
 * both.
 */
export function sealedRelay(link: Duplex, local: Duplex, o: SealedRelayOptions): void {
  let failed = false;
  /** link → local ended: the end record came and `local` was ended. */
  let inDone = false;
  /** local → link ended: `local` ended and the end record went. */
  let outDone = false;

  const fail = (err: Error): void => {
    if (failed) return;
    failed = true;
    link.destroy();
    local.destroy();
    o.onFailure(err);
  };
  const toLocal = (plain: Buffer[]): void => {
    if (plain.length === 0) return;
    let room = true;
    if (plain.length > 1) local.cork();
    for (const p of plain) room = local.write(p);
    if (plain.length > 1) local.uncork();
    if (!room) link.pause();
  };

  link.on('data', (chunk: Buffer) => {
    if (failed) return;
    try {
      toLocal(o.opener.push(chunk));
    } catch (err) {
      fail(err as Error);
    }
  });
  link.on('end', () => {
    if (failed) return;
    try {
      o.opener.end();
    } catch (err) {
      return fail(err as Error);
    }
    inDone = true;
    local.end();
  });
  local.on('drain', () => link.resume());
  local.on('data', (chunk: Buffer) => {
    if (failed) return;
    if (!link.write(o.sealer.seal(chunk))) local.pause();
  });
  local.on('end', () => {
    if (failed) return;
    outDone = true;
    link.end(o.sealer.end());
  });
  link.on('drain', () => local.resume());

  const closedEarly = (which: string) => (): void => {
    if (!inDone || !outDone) fail(new P2prcError('E_CLOSED', `${which} closed before the relay ended`));
  };
  link.on('error', fail);
  local.on('error', fail);
  link.on('close', closedEarly('the link'));
  local.on('close', closedEarly('the local connection'));

  toLocal(o.toLocal.filter((b) => b.length > 0));
  link.resume();
  local.resume();
}
