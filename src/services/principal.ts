import { addressOf } from '../protocol/address.js';
import { sourceKey } from './guess-throttle.js';

/**
 * Who a quota counts against: the principal the host authenticated. Client ids and owner keys are
 * chosen by the client, so a quota per client id or per key lets one token holder take any amount.
 * An account (`--users`) is a principal the host authenticates; without accounts every client holds
 * the same token, and the address it comes from (an IPv4 address, an IPv6 /64) is the nearest thing
 * to a holder the host can tell apart.
 */
export function principalOf(user: string | undefined, remote: string): string {
  return user !== undefined ? `user:${user}` : `addr:${sourceKey(addressOf(remote))}`;
}

/** "account alice" or "address 10.0.0.1", for the E_QUOTA message that names who is over the limit. */
export function principalLabel(principal: string): string {
  return principal.replace(/^(user|addr):/, (_, k: string) => (k === 'user' ? 'account ' : 'address '));
}
