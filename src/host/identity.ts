import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { P2prcError } from '../errors.js';
import { assertPrivateDir } from '../store/private-file.js';
import { writeFileAtomic } from '../store/atomic.js';
import { readTextFile } from '../store/json-file.js';
import { fingerprintOfPem, generateSelfSignedCert } from '../transport/cert.js';
import { generateSecret } from '../protocol/secret.js';

export interface HostIdentity {
  token: string;
  /** True when the token was generated now (first start), so the CLI shows it once. */
  tokenGenerated: boolean;
  tokenPath: string;
  keyPem: string;
  certPem: string;
  fingerprint: string;
}

/** O_NOFOLLOW: a symlink in place of a secret is refused (E_CONFIG), never read through. */
const readSecret = (file: string) => readTextFile(file, { noFollow: true });

/** The token file in a host's state directory: the one place its name is spelled. */
export function tokenPathIn(stateDir: string): string {
  return path.join(stateDir, 'token.txt');
}

/**
 * The host's long-lived secrets in `<dir>`: token.txt, host-key.pem, host-cert.pem. Generated on
 * first start and kept, so the fingerprint clients pinned stays valid across restarts.
 */
export async function loadHostIdentity(dir: string, explicitToken?: string): Promise<HostIdentity> {
  await assertPrivateDir(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tokenPath = tokenPathIn(dir);
  let token = explicitToken;
  let tokenGenerated = false;
  if (!token) {
    token = (await readSecret(tokenPath))?.trim();
    if (!token) {
      token = generateSecret();
      tokenGenerated = true;
      await writeFileAtomic(tokenPath, `${token}\n`);
    }
  }
  const keyPath = path.join(dir, 'host-key.pem');
  const certPath = path.join(dir, 'host-cert.pem');
  let keyPem = await readSecret(keyPath);
  let certPem = await readSecret(certPath);
  if (!keyPem || !certPem) {
    const generated = generateSelfSignedCert();
    keyPem = generated.keyPem;
    certPem = generated.certPem;
    await writeFileAtomic(keyPath, keyPem);
    await writeFileAtomic(certPath, certPem);
  }
  let fingerprint: string;
  try {
    fingerprint = fingerprintOfPem(certPem);
  } catch (err) {
    throw new P2prcError('E_CONFIG', `host certificate ${certPath} is unreadable: ${(err as Error).message}`, {
      cause: err,
    });
  }
  checkHostKey(keyPath, keyPem, certPem);
  return { token, tokenGenerated, tokenPath, keyPem, certPem, fingerprint };
}

/**
 * A host key that does not parse, or that is not the certificate's, is E_CONFIG naming the file, before
 * TLS fails on it with OpenSSL's words. The file is left as it is: clients pinned its certificate.
 */
function checkHostKey(keyPath: string, keyPem: string, certPem: string): void {
  const aside = 'restore it, or move it and host-cert.pem aside to have new ones made (clients then re-pin)';
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new P2prcError('E_CONFIG', `host key ${keyPath} is not a readable PEM private key; ${aside}`, { cause: err });
  }
  if (!new X509Certificate(certPem).checkPrivateKey(key))
    throw new P2prcError('E_CONFIG', `host key ${keyPath} does not belong to the certificate beside it; ${aside}`);
}
