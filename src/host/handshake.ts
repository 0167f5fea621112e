import { P2prcError, toP2prcError } from '../errors.js';
import { bindingDigest, newNonce, proofsEqual, dataProof } from '../protocol/auth.js';
import { CONTROL_AUTH_SINCE, acceptProof, confirmEqual, controlPakeStart } from '../protocol/control-pake.js';
import { PROTOCOL_VERSION } from '../protocol/frame.js';
import type { Messages } from '../protocol/messages.js';
import { fakeSalt, verifyUserProof, type UserRecord } from '../services/accounts.js';
import { FrameChannel } from '../transport/channel.js';
import { channelBinding } from '../transport/net.js';
import { VERSION } from '../version.js';

/** frpc's first bytes: a plain Login, NewWorkConn or NewVisitorConn, a yamux header (tcp_mux), frp's TLS head, or a WebSocket GET. */
export function isFrpFirstByte(byte: number): boolean {
  const kind = classifyFirstByte(byte);
  return kind === 'frp' || kind === 'frp-tls' || kind === 'http';
}

export type ConnectionKind = 'tls' | 'p2prc' | 'frp' | 'frp-tls' | 'http' | 'unknown';

/**
 * Tells protocols apart by the first byte: 0x16 a TLS ClientHello, "P" the p2prc preamble, and for
 * stock frpc: "o" a plain Login, "w" a NewWorkConn, 0x00 a yamux header (tcp_mux), 0x17 frp's custom TLS head byte,
 * "G" an HTTP GET (frp over WebSocket).
 */
export function classifyFirstByte(byte: number): ConnectionKind {
  if (byte === 0x16) return 'tls';
  if (byte === 0x50) return 'p2prc';
  if (byte === 0x6f || byte === 0x77 || byte === 0x76 || byte === 0x00) return 'frp'; // Login, NewWorkConn / NewVisitorConn (tcp_mux off), yamux
  if (byte === 0x17) return 'frp-tls';
  if (byte === 0x47) return 'http'; // "GET": frpc's protocol = websocket
  return 'unknown';
}

export interface ControlAuthResult {
  clientId: string;
  name: string;
  key: Buffer;
  /** Set when the client proved a user of the host's users file. */
  user: string | undefined;
  /** The SCRAM ServerSignature for that user, sent in AuthOk so the client knows the host holds its record. */
  userSignature: string | undefined;
}

/**
 * Runs the control handshake after Hello(control): Challenge (with the host's CPace element and
 * proof) → Auth (the client's proof) → AuthOk, sent by the caller once it has a session id
 * (`acceptProof`). Nothing that crosses the wire can be tested against a guessed token offline.
 * Each Challenge is one guess for whoever is on the other side, so `onGuess` is told before it is
 * sent, and `onProven` once the client's proof (and its account's, with a users file) checked out.
 */
export async function authenticateControl(
  channel: FrameChannel,
  hello: Extract<Messages['Hello'], { role: 'control' }>,
  token: string,
  hostId: string,
  timeoutMs: number,
  users?: { list: UserRecord[]; secret: Buffer },
  guesses?: { onGuess: () => void; onProven: () => void },
): Promise<ControlAuthResult> {
  if (channel.peerVersion !== PROTOCOL_VERSION) {
    channel.send('Error', {
      code: 'E_VERSION',
      message: `host speaks protocol ${PROTOCOL_VERSION}, client ${channel.peerVersion}`,
    });
    throw new P2prcError('E_VERSION', `client protocol version ${channel.peerVersion} is not supported`);
  }
  const hostNonce = newNonce();
  const binding = channelBinding(channel.socket);
  if (hello.sid === undefined || hello.element === undefined) {
    // A probe (`--view-rps`) or a client before the PAKE: the Challenge says who we are, and an Auth
    // that follows is told which version it needs.
    channel.send('Challenge', { nonce: hostNonce, hostId, agent: 'p2prc', version: VERSION });
    await channel.next(timeoutMs);
    const message = `this host (p2prc ${VERSION}) checks tokens with a PAKE: it needs a client of p2prc ${CONTROL_AUTH_SINCE} or later`;
    channel.send('Error', { code: 'E_VERSION', message });
    throw new P2prcError('E_VERSION', `client ${hello.name} runs a p2prc before ${CONTROL_AUTH_SINCE}`);
  }
  const claimed = hello.user !== undefined && users ? users.list.find((u) => u.name === hello.user) : undefined;
  const userSalt =
    hello.user !== undefined && users ? (claimed?.salt ?? fakeSalt(users.secret, hello.user)) : undefined;
  const sid = Buffer.from(hello.sid, 'hex');
  const pake = controlPakeStart(token, binding, sid);
  const clientElement = Buffer.from(hello.element, 'hex');
  const ad = { clientId: hello.clientId, user: hello.user ?? '', hostNonce };
  const keys = pake.finish(clientElement, clientElement, pake.element, ad);
  guesses?.onGuess();
  // The version lets `--view-rps` fill its VERSION column from a probe (older clients drop the field).
  channel.send('Challenge', {
    nonce: hostNonce,
    hostId,
    agent: 'p2prc',
    version: VERSION,
    element: pake.element.toString('hex'),
    confirm: keys.hostConfirm.toString('hex'),
    ...(userSalt ? { userSalt } : {}),
    ...(binding ? { binding: bindingDigest(binding) } : {}),
  });
  // A client whose token differs finds out from our proof and hangs up: a failed login, not a lost connection.
  const reply = await channel.next(timeoutMs).catch((err: unknown) => {
    const e = toP2prcError(err);
    throw e.code === 'E_CLOSED'
      ? new P2prcError('E_AUTH', `client ${hello.name} left after the token check: its token differs`, { cause: e })
      : e;
  });
  if (reply.type !== 'Auth') throw new P2prcError('E_PROTOCOL', `expected Auth, got ${reply.type}`);
  if (reply.body.nonce !== hello.sid || !confirmEqual(keys.clientConfirm, reply.body.mac)) {
    channel.send('Error', { code: 'E_AUTH', message: 'authentication failed: wrong token' });
    throw new P2prcError('E_AUTH', `client ${hello.name} presented a wrong token`);
  }
  let user: string | undefined;
  let userSignature: string | undefined;
  if (hello.user !== undefined && userSalt !== undefined) {
    const context = { user: hello.user, salt: userSalt, hostNonce, clientNonce: reply.body.nonce, binding };
    userSignature = claimed && reply.body.userMac ? verifyUserProof(claimed, reply.body.userMac, context) : undefined;
    if (!userSignature) {
      channel.send('Error', { code: 'E_AUTH', message: 'authentication failed: unknown user or wrong password' });
      throw new P2prcError('E_AUTH', `client ${hello.name} failed the password check for user ${hello.user}`);
    }
    user = hello.user;
  }
  // Only now: a wrong password after the right token is a failed login too.
  guesses?.onProven();
  return { clientId: hello.clientId, name: hello.name, key: keys.sessionKey, user, userSignature };
}

export function hostAuthProof(auth: ControlAuthResult, sessionId: string): string {
  return acceptProof(auth.key, sessionId);
}

export function verifyDataHello(
  key: Buffer,
  hello: { sessionId: string; seq: number; mac: string; mux?: boolean },
): boolean {
  return proofsEqual(dataProof(key, hello.sessionId, hello.seq, hello.mux === true), hello.mac);
}
