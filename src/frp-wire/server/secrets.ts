import type { Duplex } from 'node:stream';
import { timingSafeEqual } from 'node:crypto';
import { P2prcError } from '../../errors.js';
import type { VisitorSink } from '../../transport/pairing-pool.js';
import { frpKey } from '../codec/crypto.js';
import { FrpMsg, encodeFrpMessage, privilegeKey } from '../codec/messages.js';
import { layered } from './layers.js';

interface SecretProxy {
  sk: string;
  sink: VisitorSink;
  target: { tunnelId: string; port: number };
}

/**
 * frp's stcp ("secret TCP", server/controller/visitor.go): a proxy with no public port, reached only by
 * visitors (another frpc, role = visitor) that open a connection with NewVisitorConn signed with the
 * proxy's `sk`. The host sees the secret and the bytes, exactly as frps does; p2prc's own services by
 * ID keep their bytes end-to-end encrypted instead (docs/services.md).
 */
export class SecretProxies {
  private readonly byName = new Map<string, SecretProxy>();

  constructor(private readonly maxSkewS: number) {}

  /** Registers an stcp proxy; frp's refusal when the name is taken. Returns the way out. */
  listen(name: string, sk: string, sink: VisitorSink, target: SecretProxy['target']): () => void {
    if (this.byName.has(name)) throw new P2prcError('E_CONFLICT', `custom listener for [${name}] is repeated`);
    const entry = { sk, sink, target };
    this.byName.set(name, entry);
    return () => this.byName.get(name) === entry && this.byName.delete(name);
  }

  /**
   * A connection whose first message was NewVisitorConn: checks the signature, answers with
   * NewVisitorConnResp (frp's texts), then hands the visitor's byte stream (its own use_encryption
   * with the sk as key, and use_compression, removed) to the proxy's client like any visitor.
   */
  accept(conn: Duplex, body: Record<string, unknown>, rest: Buffer): void {
    const name = String(body.proxy_name ?? '');
    const entry = this.byName.get(name);
    const timestamp = Number(body.timestamp ?? 0);
    let error = '';
    if (!entry) error = `custom listener for [${name}] doesn't exist`;
    else if (
      !signed(entry.sk, timestamp, String(body.sign_key ?? '')) ||
      Math.abs(Date.now() / 1000 - timestamp) > this.maxSkewS
    ) {
      error = `visitor connection of [${name}] auth failed`;
    }
    const resp = encodeFrpMessage(FrpMsg.NewVisitorConnResp, { proxy_name: name, error });
    if (error) {
      // Refused before anything was proven: the caller destroys the connection (no half-open leftovers).
      conn.end(resp);
      throw new P2prcError('E_AUTH', error);
    }
    conn.write(resp);
    if (rest.length) conn.unshift(rest);
    const visitor = layered(conn, {
      key: frpKey(entry!.sk),
      encrypt: body.use_encryption === true,
      compress: body.use_compression === true,
    });
    if (visitor !== conn) conn.once('close', () => visitor.destroy());
    // Inside yamux or the layers the stream knows no address; StartWorkConn then reports none.
    entry!.sink.acceptVisitor(entry!.target, visitor);
  }
}

function signed(sk: string, timestamp: number, given: string): boolean {
  const expected = Buffer.from(privilegeKey(sk, timestamp));
  const g = Buffer.from(given);
  return g.length === expected.length && timingSafeEqual(g, expected);
}
