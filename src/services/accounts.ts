import { createHash, createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { P2prcError } from '../errors.js';

/**
 * Per-user accounts for listing and visiting services (`--users users.json`), SCRAM-shaped (RFC 5802):
 * SaltedPassword = scrypt(password, salt); ClientKey = HMAC(SaltedPassword, "Client Key");
 * StoredKey = SHA-256(ClientKey); ServerKey = HMAC(SaltedPassword, "Server Key"). The file keeps only
 * salt, StoredKey and ServerKey: StoredKey checks a proof but cannot make one, so a stolen users.json
 * does not log anyone in. The client sends ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage);
 * the host answers ServerSignature = HMAC(ServerKey, AuthMessage), which only a holder of the record
 * can make. The password never crosses the wire; unknown users get a stable fake salt, so the exchange
 * does not reveal which names exist.
 */
export interface UserRecord {
  name: string;
  salt: string;
  storedKey: string;
  serverKey: string;
}

const SCRYPT = { N: 16384, r: 8, p: 1 } as const;

const hmac = (key: Buffer, text: string | Buffer) => createHmac('sha256', key).update(text).digest();

function saltedPassword(password: string, saltHex: string): Buffer {
  return scryptSync(password, Buffer.from(saltHex, 'hex'), 32, SCRYPT);
}

export function makeUser(name: string, password: string): UserRecord {
  const salt = randomBytes(32).toString('hex');
  const salted = saltedPassword(password, salt);
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest('hex');
  return { name, salt, storedKey, serverKey: hmac(salted, 'Server Key').toString('hex') };
}

/** What both proofs sign: the user, the salt, both nonces and the TLS channel binding ('' in plaintext). */
export interface UserAuthContext {
  user: string;
  salt: string;
  hostNonce: string;
  clientNonce: string;
  binding: string;
}

function authMessage(c: UserAuthContext): string {
  return ['p2prc/v2/user', c.user, c.salt, c.hostNonce, c.clientNonce, c.binding].join('\0');
}

function xor(a: Buffer, b: Buffer): Buffer {
  return Buffer.from(a.map((byte, i) => byte ^ b[i]!));
}

/** Client side: the proof to send, and the ServerSignature the host must answer with. */
export function clientUserProof(password: string, c: UserAuthContext): { proof: string; serverSignature: string } {
  const salted = saltedPassword(password, c.salt);
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = createHash('sha256').update(clientKey).digest();
  const message = authMessage(c);
  return {
    proof: xor(clientKey, hmac(storedKey, message)).toString('hex'),
    serverSignature: hmac(hmac(salted, 'Server Key'), message).toString('hex'),
  };
}

/** Host side: the ServerSignature when `proofHex` proves the password behind `record`, else undefined. */
export function verifyUserProof(record: UserRecord, proofHex: string, c: UserAuthContext): string | undefined {
  const message = authMessage(c);
  const storedKey = Buffer.from(record.storedKey, 'hex');
  const proof = Buffer.from(proofHex, 'hex');
  if (proof.length !== 32) return undefined;
  const clientKey = xor(proof, hmac(storedKey, message));
  if (!timingSafeEqual(createHash('sha256').update(clientKey).digest(), storedKey)) return undefined;
  return hmac(Buffer.from(record.serverKey, 'hex'), message).toString('hex');
}

export function fakeSalt(secret: Buffer, name: string): string {
  return createHmac('sha256', secret).update(name).digest('hex');
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Parses and validates users.json: {"users":[{"name","salt","storedKey","serverKey"}]}. */
export function parseUsers(text: string, file: string): UserRecord[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new P2prcError(
      'E_CONFIG',
      `${file} is not valid JSON: ${(err as Error).message}; it was left untouched — fix it or move it aside with --repair`,
      {
        details: { path: file },
      },
    );
  }
  const users = (data as { users?: unknown }).users;
  if (!Array.isArray(users))
    throw new P2prcError(
      'E_CONFIG',
      `${file} must hold {"users": [...]}; it was left untouched — fix it or move it aside with --repair`,
      { details: { path: file } },
    );
  return users.map((u, i) => {
    const r = (u ?? {}) as Partial<UserRecord> & { hash?: unknown };
    // The old format stored scrypt(password): a stolen file logged in. It cannot be converted without the password.
    if (r.hash !== undefined && r.storedKey === undefined) {
      throw new P2prcError(
        'E_CONFIG',
        `${file}: users[${i}] (${String(r.name)}) is in the old password-equivalent format: re-create it with p2prc --add-user ${String(r.name)} --users ${file}`,
        { details: { path: file } },
      );
    }
    if (
      typeof r.name !== 'string' ||
      !HEX64.test(r.salt ?? '') ||
      !HEX64.test(r.storedKey ?? '') ||
      !HEX64.test(r.serverKey ?? '')
    ) {
      throw new P2prcError('E_CONFIG', `${file}: users[${i}] needs name, salt, storedKey and serverKey (64 hex each)`, {
        details: { path: file },
      });
    }
    return { name: r.name, salt: r.salt!, storedKey: r.storedKey!, serverKey: r.serverKey! };
  });
}
