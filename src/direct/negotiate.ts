import net from 'node:net';
import { P2prcError, isP2prcError } from '../errors.js';
import {
  answerAuthentic,
  newDirectNonce,
  offerAuthentic,
  signAnswer,
  signOffer,
  type DirectAnswer,
  type DirectOffer,
  type SignallingKey,
} from '../protocol/direct.js';
import { bridge } from './bridge.js';
import { PeerLink, type PeerAddress, type PeerOptions } from './peer.js';

/** Attempts per connectDirect: the first, and fresh ones after libdatachannel's race (PeerLink.failure). */
const MAX_ATTEMPTS = 3;

/** The visitor's side: the service, and the signalling key of a CPace exchange with its owner. */
export interface DirectService {
  serviceId: string;
  /**
   * A signalling key for one offer. The owner uses each key once (a replayed offer gets nothing), so
   * every attempt asks for its own: a retry under the same key was refused as unauthenticated.
   */
  signalling: () => Promise<SignallingKey>;
}

/** Carries our offer to the owner through the host and brings back its answer (or a coded refusal). */
export type Signal = (offer: DirectOffer, timeoutMs: number) => Promise<DirectAnswer>;

export interface DirectPath {
  link: PeerLink;
  peer: PeerAddress;
}

/**
 * Visitor side: offer, check the owner's answer against the signalling key, connect. Everything within
 * `timeoutMs`, so the caller can fall back to the relay in bounded time. An answer that fails the
 * MAC (a host or anyone on the path changed a candidate or a fingerprint) is refused before ICE
 * ever sends a packet to an address taken from it.
 */
export async function connectDirect(
  svc: DirectService,
  peer: PeerOptions,
  signal: Signal,
  timeoutMs: number,
): Promise<DirectPath> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptDirect(svc, peer, signal, deadline);
    } catch (err) {
      // Another try, with a fresh connection, for the native library's race only.
      const again =
        attempt < MAX_ATTEMPTS && isP2prcError(err) && err.details.retryable === true && deadline - Date.now() > 1_000;
      if (!again) throw err;
    }
  }
}

async function attemptDirect(
  svc: DirectService,
  peer: PeerOptions,
  signal: Signal,
  deadline: number,
): Promise<DirectPath> {
  const left = () => Math.max(1, deadline - Date.now());
  const signalling = await svc.signalling();
  const link = await PeerLink.create({ ...peer, gatherMs: Math.min(peer.gatherMs ?? 2_000, left() / 3) }, true);
  try {
    const offer = signOffer(signalling, svc.serviceId, newDirectNonce(), await link.localDescription(left()));
    const answer = await signal(offer, left());
    if (!answerAuthentic(signalling.key, svc.serviceId, offer, answer)) {
      throw new P2prcError(
        'E_AUTH',
        'the direct-path answer failed authentication (altered on the way, or not from the owner)',
      );
    }
    link.setRemote(answer.sdp, 'answer');
    return { link, peer: await link.connected(left()) };
  } catch (err) {
    link.close();
    throw err;
  }
}

/**
 * Owner side: answers an authentic offer and serves the channels the visitor opens, each to a fresh
 * connection to the local service. `key` is the signalling key the offer names (undefined when this
 * owner holds none by that id); an offer that fails the MAC gets a coded refusal and no ICE at all.
 */
export async function answerDirect(
  serviceId: string,
  key: Buffer | undefined,
  peer: PeerOptions,
  offer: DirectOffer,
): Promise<{ link: PeerLink; answer: DirectAnswer }> {
  if (!key || !offerAuthentic(key, serviceId, offer)) {
    throw new P2prcError(
      'E_AUTH',
      `direct-path offer for ${serviceId} failed authentication (no handshake before it, or altered on the way)`,
    );
  }
  const link = await PeerLink.create(peer, false);
  try {
    link.setRemote(offer.sdp, 'offer');
    const answer = signAnswer(key, serviceId, offer, newDirectNonce(), await link.localDescription());
    return { link, answer };
  } catch (err) {
    link.close();
    throw err;
  }
}

/** Each channel the visitor opens on `link` becomes one connection to the local service. */
export function serveChannels(
  link: PeerLink,
  target: { host: string; port: number },
  onError: (message: string) => void,
): void {
  link.on('channel', (dc) => {
    // Bridged at once: a socket queues writes until it connects, so the visitor's first bytes wait there.
    const local = net.connect({ host: target.host, port: target.port, noDelay: true, allowHalfOpen: true });
    local.once('error', (err) => onError(`local service ${target.host}:${target.port} unreachable: ${err.message}`));
    bridge(dc, local);
  });
}
