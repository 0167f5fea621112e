import { createHmac, randomBytes, scryptSync } from 'node:crypto';
import { P2prcError } from '../errors.js';

/**
 * Per-user accounts for listing and visiting services (`--users users.json`). The file stores
 * scrypt(password, salt); the password never crosses the wire: the host sends the user's salt in the
 * Challenge and the client answers HMAC(scrypt(password, salt), nonces). Unknown users get a stable
 * fake salt, so the exchange does not reveal which names exist.
 */
export interface UserRecord {
  name: string;
  salt: string;
  hash: string;
}

const SCRYPT = { N: 16384, r: 8, p: 1 } as const;

export function hashPassword(password: string, salt = randomBytes(32).toString('hex')): UserRecord['hash'] {
  return scryptSync(password, Buffer.from(salt, 'hex'), 32, SCRYPT).toString('hex');
}

export function makeUser(name: string, password: string): UserRecord {
  const salt = randomBytes(32).toString('hex');
  return { name, salt, hash: hashPassword(password, salt) };
}

export function userProof(hashHex: string, hostNonce: string, clientNonce: string): string {
  return createHmac('sha256', Buffer.from(hashHex, 'hex')).update('p2prc/v1/user\0').update(hostNonce).update('\0').update(clientNonce).digest('hex');
}

export function clientUserProof(password: string, saltHex: string, hostNonce: string, clientNonce: string): string {
  return userProof(hashPassword(password, saltHex), hostNonce, clientNonce);
}

export function fakeSalt(secret: Buffer, name: string): string {
  return createHmac('sha256', secret).update(name).digest('hex');
}

/** Parses and validates users.json: {"users":[{"name","salt","hash"}]}. */
export function parseUsers(text: string, file: string): UserRecord[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new P2prcError('E_CONFIG', `${file} is not valid JSON: ${(err as Error).message}`, { details: { path: file } });
  }
  const users = (data as { users?: unknown }).users;
  if (!Array.isArray(users)) throw new P2prcError('E_CONFIG', `${file} must hold {"users": [...]}`, { details: { path: file } });
  return users.map((u, i) => {
    const r = u as Partial<UserRecord>;
    if (typeof r.name !== 'string' || !/^[0-9a-f]{64}$/.test(r.salt ?? '') || !/^[0-9a-f]{64}$/.test(r.hash ?? '')) {
      throw new P2prcError('E_CONFIG', `${file}: users[${i}] needs name, salt (64 hex) and hash (64 hex)`, { details: { path: file } });
    }
    return { name: r.name, salt: r.salt!, hash: r.hash! };
  });
}
