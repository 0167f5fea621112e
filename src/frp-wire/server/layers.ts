import { Duplex, pipeline, type Transform } from 'node:stream';
import { relay } from '../../transport/relay.js';
import { CfbDecrypt, CfbEncrypt } from '../codec/crypto.js';
import { SnappyFrameDecoder, SnappyFrameEncoder } from '../codec/snappy.js';

/** A proxy's use_encryption (AES-128-CFB with the key given) and use_compression (snappy framing). */
export interface Layers {
  key: Buffer;
  encrypt: boolean;
  compress: boolean;
}

/** frp layers a work or visitor connection as: bytes → snappy → AES-128-CFB → wire, and the reverse. */
function chains(o: Layers): { inbound: Transform[]; outbound: Transform[] } {
  return {
    inbound: [...(o.encrypt ? [new CfbDecrypt(o.key)] : []), ...(o.compress ? [new SnappyFrameDecoder()] : [])],
    outbound: [...(o.compress ? [new SnappyFrameEncoder()] : []), ...(o.encrypt ? [new CfbEncrypt(o.key)] : [])],
  };
}

/** Relays a visitor and a connection whose bytes carry the layers; raw when there are none. */
export function relayLayered(visitor: Duplex, wire: Duplex, o: Layers): void {
  if (!o.encrypt && !o.compress) return relay(visitor, wire);
  const { inbound, outbound } = chains(o);
  const done = (err?: Error | null) => err && (visitor.destroy(), wire.destroy());
  pipeline([wire, ...inbound, visitor], done);
  pipeline([visitor, ...outbound, wire], done);
}

/** The plain byte stream inside a layered connection (the connection itself when there are no layers). */
export function layered(wire: Duplex, o: Layers): Duplex {
  if (!o.encrypt && !o.compress) return wire;
  const { inbound, outbound } = chains(o);
  const done = (err?: Error | null) => err && wire.destroy();
  pipeline([wire, ...inbound], done);
  pipeline([...outbound, wire], done);
  // With a layer there is a first and a last transform: the plain bytes leave the last inbound one.
  return Duplex.from({ readable: inbound.at(-1)!, writable: outbound[0]! });
}
