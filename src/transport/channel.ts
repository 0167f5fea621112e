import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { P2prcError, toP2prcError } from '../errors.js';
import { foreignProtocol, notP2prcHost } from '../protocol/foreign.js';
import { formatAddress } from '../protocol/address.js';
import {
  DEFAULT_MAX_FRAME_SIZE,
  FrameDecoder,
  PREAMBLE_SIZE,
  decodePreamble,
  encodePreamble,
} from '../protocol/frame.js';
import { decodeMessage, encodeMessage, type Message, type Messages, type MsgTypeName } from '../protocol/messages.js';

export interface ChannelOptions {
  maxFrameSize?: number;
  /** Host side: the peer opens with the "P2RC" preamble before any frame. */
  expectPreamble?: boolean;
  /** Messages after which the stream turns raw (a data connection's Bind): decoding stops right there. */
  rawAfter?: (m: Message) => boolean;
}

type Waiter = { resolve: (m: Message) => void; reject: (e: Error) => void; timer: NodeJS.Timeout | undefined };

/** An 'error' listener for a detached socket: `this` is the socket that emitted. */
function destroySocket(this: Socket): void {
  this.destroy();
}

/**
 * Owns one socket carrying p2prc frames: decodes, validates, queues messages for `next()` or
 * hands them to `onMessage`, and destroys the socket on any protocol error, timeout or close.
 * `detach()` gives the socket back for raw relaying, with the bytes that followed the last frame.
 */
export class FrameChannel extends EventEmitter<{ close: [P2prcError | undefined] }> {
  readonly socket: Socket;
  peerVersion: number | undefined;
  private readonly decoder: FrameDecoder;
  private preamble: Buffer | undefined;
  private queue: Message[] = [];
  private waiters: Waiter[] = [];
  private handler: ((m: Message) => void) | undefined;
  private failure: P2prcError | undefined;
  private detached = false;
  private readonly rawAfter: ((m: Message) => boolean) | undefined;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private sniffed = false;
  private head = Buffer.alloc(0);
  private readonly onEnd = () => this.close(new P2prcError('E_CLOSED', 'connection closed by the peer'));
  private readonly onError = (err: Error) =>
    this.fail(new P2prcError('E_CLOSED', `connection error: ${err.message}`, { cause: err }));
  private readonly onClose = () => this.fail(new P2prcError('E_CLOSED', 'connection closed'));

  constructor(socket: Socket, options: ChannelOptions = {}) {
    super();
    this.socket = socket;
    this.decoder = new FrameDecoder(options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE);
    this.rawAfter = options.rawAfter;
    this.preamble = options.expectPreamble ? Buffer.alloc(0) : undefined;
    // Only the connecting side sniffs: the accepting side checks the preamble instead.
    this.sniffed = !!options.expectPreamble;
    socket.on('data', this.onData);
    socket.resume(); // the host paused it while peeking at the first byte
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    // Sockets are half-open for the raw relay; a framed peer that ends is simply gone.
    socket.on('end', this.onEnd);
  }

  get closed(): boolean {
    return this.failure !== undefined;
  }

  sendPreamble(): void {
    this.socket.write(encodePreamble());
  }

  send<K extends MsgTypeName>(type: K, body: Messages[K]): boolean {
    if (this.failure || this.socket.destroyed) return false;
    return this.socket.write(encodeMessage(type, body));
  }

  /** Resolves with the next message; rejects on close, protocol error or timeout (which also closes). 0 waits forever. */
  next(timeoutMs: number): Promise<Message> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => this.close(new P2prcError('E_TIMEOUT', `no message within ${timeoutMs} ms`)), timeoutMs)
          : undefined;
      this.waiters.push({ resolve, reject, timer });
    });
  }

  /** Switches to push mode: every queued and future message goes to `handler`. */
  onMessage(handler: (m: Message) => void): void {
    this.handler = handler;
    for (let m = this.queue.shift(); m; m = this.queue.shift()) handler(m);
  }

  /** Stops frame decoding; the caller now owns the socket and must first use the returned bytes. */
  detach(): Buffer {
    this.stopDecoding();
    // Only this channel's own listeners: a TLSSocket's 'close' handler, which frees its TLS state, stays.
    this.socket.off('error', this.onError);
    this.socket.off('close', this.onClose);
    // The new owner adds its own handling; until then a reset must not become an uncaught 'error'. A
    // listener that closed over the channel would keep it (decoder, queue, listeners) as long as the socket.
    this.socket.on('error', destroySocket);
    return this.decoder.takeRest();
  }

  private stopDecoding(): void {
    if (this.detached) return;
    this.detached = true;
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.pause();
  }

  close(reason?: P2prcError): void {
    this.fail(reason ?? new P2prcError('E_CLOSED', 'closed locally'));
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    try {
      this.sniff(chunk);
      if (this.preamble) {
        this.preamble = Buffer.concat([this.preamble, chunk]);
        if (this.preamble.length < PREAMBLE_SIZE) return;
        this.peerVersion = decodePreamble(this.preamble);
        chunk = this.preamble.subarray(PREAMBLE_SIZE);
        this.preamble = undefined;
      }
      this.decoder.write(chunk);
      // Stop as soon as detached: what follows a Bind is raw payload, not frames.
      while (!this.detached && !this.failure) {
        const frame = this.decoder.read();
        if (!frame) break;
        const message = decodeMessage(frame);
        if (this.rawAfter?.(message)) this.stopDecoding();
        this.deliver(message);
      }
    } catch (err) {
      this.close(toP2prcError(err, 'E_PROTOCOL'));
    }
  }

  /** Connecting side, first bytes only: another protocol answering is named, not decoded as a huge frame. */
  private sniff(chunk: Buffer): void {
    if (this.sniffed) return;
    this.head = Buffer.concat([this.head, chunk]).subarray(0, 8);
    if (this.head.length < 5) return;
    this.sniffed = true;
    const foreign = foreignProtocol(this.head);
    if (foreign)
      throw notP2prcHost(
        this.socket.remoteAddress
          ? formatAddress(this.socket.remoteAddress, this.socket.remotePort ?? 0)
          : 'the server',
        foreign,
      );
  }

  private deliver(message: Message): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(message);
    } else if (this.handler) {
      this.handler(message);
    } else {
      this.queue.push(message);
    }
  }

  private fail(err: P2prcError): void {
    if (this.failure) return;
    this.failure = err;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    if (!this.detached) this.socket.destroy();
    this.emit('close', err.code === 'E_CLOSED' ? undefined : err);
  }
}
