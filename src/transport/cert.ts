import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { P2prcError } from '../errors.js';

/**
 * A minimal self-signed X.509 v3 certificate (ECDSA P-256 / SHA-256), built in DER by hand
 * because node:crypto can parse certificates but not create them. Clients pin the SHA-256
 * fingerprint (trust on first use), so no name checks or CA chain are involved.
 */
function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const len = body.length;
  let header: Buffer;
  if (len < 0x80) header = Buffer.from([tag, len]);
  else if (len < 0x100) header = Buffer.from([tag, 0x81, len]);
  else header = Buffer.from([tag, 0x82, len >> 8, len & 0xff]);
  return Buffer.concat([header, body]);
}

const seq = (...c: Buffer[]) => der(0x30, ...c);
const set = (...c: Buffer[]) => der(0x31, ...c);

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes: number[] = [40 * parts[0]! + parts[1]!];
  for (const part of parts.slice(2)) {
    const chunk: number[] = [];
    let v = part;
    do {
      chunk.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i]! |= 0x80;
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

function utcTime(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-11-24T22:16:39.000Z
  const s =
    iso.slice(2, 4) +
    iso.slice(5, 7) +
    iso.slice(8, 10) +
    iso.slice(11, 13) +
    iso.slice(14, 16) +
    iso.slice(17, 19) +
    'Z';
  return der(0x17, Buffer.from(s, 'latin1'));
}

function name(commonName: string): Buffer {
  return seq(set(seq(oid('2.5.4.3'), der(0x0c, Buffer.from(commonName, 'utf8')))));
}

export interface SelfSignedCert {
  keyPem: string;
  certPem: string;
  fingerprint: string;
}

export function generateSelfSignedCert(commonName = 'p2prc-host', days = 3650): SelfSignedCert {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40; // positive and minimal: DER forbids a leading 0x00 before a byte < 0x80
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Math.min(Date.now() + days * 86_400_000, Date.UTC(2049, 11, 31)));
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))),
    der(0x02, serial),
    ecdsaSha256,
    name(commonName),
    seq(utcTime(notBefore), utcTime(notAfter)),
    name(commonName),
    spki,
  );
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const cert = seq(tbs, ecdsaSha256, der(0x03, Buffer.from([0]), signature));
  const certPem = `-----BEGIN CERTIFICATE-----\n${cert
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  return { keyPem, certPem, fingerprint: fingerprintOf(cert) };
}

/** SHA-256 of the DER certificate, as colon-separated upper-case hex (the form openssl and browsers show). */
export function fingerprintOf(derCert: Buffer): string {
  return createHash('sha256').update(derCert).digest('hex').toUpperCase().match(/../g)!.join(':');
}

export function fingerprintOfPem(certPem: string): string {
  return fingerprintOf(new X509Certificate(certPem).raw);
}

/** Accepts "AB:CD:..", "abcd..", with or without colons; returns the canonical form or null. */
export function normalizeFingerprint(input: string): string | null {
  const hex = input.replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return null;
  return hex.match(/../g)!.join(':');
}

/**
 * A --fingerprint as given by a user: the canonical SHA-256 form, or E_USAGE. A malformed pin must
 * never be taken for "no pin" (that would turn pinning off) nor be stored.
 */
export function parseFingerprint(input: string | undefined, option = 'fingerprint'): string | undefined {
  if (input === undefined) return undefined;
  const canonical = normalizeFingerprint(input);
  if (!canonical) {
    throw new P2prcError(
      'E_USAGE',
      `option ${option} "${input.slice(0, 120)}" is not a SHA-256 certificate fingerprint (64 hex digits, colons optional)`,
    );
  }
  return canonical;
}

/** A pin read back from secrets.json: canonical, or E_TLS (an unparsable pin is a mismatch, never "no pin"). */
export function storedPin(value: string | undefined, where: string): string | undefined {
  if (value === undefined) return undefined;
  const canonical = normalizeFingerprint(value);
  if (!canonical)
    throw new P2prcError(
      'E_TLS',
      `the stored pin for ${where} ("${value.slice(0, 120)}") is not a SHA-256 fingerprint; fix or remove it in secrets.json`,
    );
  return canonical;
}
