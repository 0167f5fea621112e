import dgram from 'node:dgram';
import net from 'node:net';
import { P2prcError } from '../errors.js';
import { SourceBuckets, type BucketLimits } from '../protocol/token-bucket.js';
import { decodeBindingRequest, encodeBindingResponse } from './stun.js';

/** A peer needs a handful of bindings per direct path; more from one address is a flood or a reflection. */
export const DEFAULT_STUN_LIMITS: BucketLimits = { perSecond: 5, burst: 20, maxSources: 4096 };

/**
 * The host's STUN binding responder: tells each peer the address and port its packets arrive from
 * after its NAT. It answers only well-formed Binding requests, each with one response of about the
 * request's size, so it cannot be used to amplify traffic toward a spoofed source, and at most
 * `limits` per source address (a token bucket each, in a bounded table), so it cannot be used to
 * pour traffic on one either, nor be made to spend its time answering one sender.
 */
export class StunResponder {
  private readonly socket: dgram.Socket;
  answered = 0;
  ignored = 0;
  /** Well-formed requests left unanswered: their source was over its rate. */
  limited = 0;
  private readonly buckets: SourceBuckets;

  constructor(bind: string, limits: BucketLimits = DEFAULT_STUN_LIMITS) {
    this.buckets = new SourceBuckets(limits);
    this.socket = dgram.createSocket({ type: net.isIPv6(bind) ? 'udp6' : 'udp4', reuseAddr: false });
    this.socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    // A stray ICMP error on a UDP socket is not fatal to the responder.
    this.socket.on('error', () => undefined);
  }

  async listen(port: number, bind: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new P2prcError('E_PORT_TAKEN', `STUN port ${port}/udp on ${bind} is already in use (--stun-port)`, {
                cause: err,
              })
            : new P2prcError('E_UNREACHABLE', `cannot bind the STUN port ${port}/udp: ${err.message}`, { cause: err }),
        );
      };
      this.socket.once('error', onError);
      this.socket.bind(port, bind, () => {
        this.socket.off('error', onError);
        resolve();
      });
    });
    return this.socket.address().port;
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const req = decodeBindingRequest(msg);
    if (!req) {
      this.ignored++;
      return;
    }
    if (!this.buckets.take(rinfo.address, Date.now())) {
      this.limited++;
      return;
    }
    this.answered++;
    this.socket.send(
      encodeBindingResponse(req.transactionId, { address: rinfo.address, port: rinfo.port }),
      rinfo.port,
      rinfo.address,
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // never bound, or already closed
      }
    });
  }
}

/**
 * Starts the host's STUN responder, the rendezvous for direct paths (docs/direct.md). An explicit
 * port that cannot be bound is an error (E_PORT_TAKEN); the default (the control port's number,
 * UDP) being taken only costs direct paths, so the host runs on and says so.
 */
export async function startStun(
  wanted: number | false | undefined,
  controlPort: number,
  bind: string,
  warn: (message: string) => void,
): Promise<{ responder: StunResponder; port: number } | undefined> {
  if (wanted === false) return undefined;
  const responder = new StunResponder(bind);
  try {
    return { responder, port: await responder.listen(wanted ?? controlPort, bind) };
  } catch (err) {
    await responder.close();
    if (wanted !== undefined) throw err;
    warn(`no STUN responder (direct paths off): ${(err as Error).message}; choose a port with --stun-port`);
    return undefined;
  }
}
