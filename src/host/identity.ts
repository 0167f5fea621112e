import { mkdir, open } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { P2prcError } from '../errors.js';
import { assertPrivateDir, writePrivateFile } from '../store/private-file.js';
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

/** O_NOFOLLOW: a symlink in place of a secret is refused (ELOOP), never read through. */
async function readIfExists(file: string): Promise<string | undefined> {
  try {
    const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    const why =
      (err as NodeJS.ErrnoException).code === 'ELOOP'
        ? 'it is a symlink, and secrets are never read through one'
        : (err as Error).message;
    throw new P2prcError('E_CONFIG', `cannot read ${file}: ${why}`, { cause: err, details: { path: file } });
  }
}

async function writePrivate(file: string, text: string): Promise<void> {
  try {
    await writePrivateFile(file, text);
  } catch (err) {
    throw new P2prcError('E_CONFIG', `cannot write ${file}: ${(err as Error).message}`, {
      cause: err,
      details: { path: file },
    });
  }
}

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
    token = (await readIfExists(tokenPath))?.trim();
    if (!token) {
      token = generateSecret();
      tokenGenerated = true;
      await writePrivate(tokenPath, `${token}\n`);
    }
  }
  const keyPath = path.join(dir, 'host-key.pem');
  const certPath = path.join(dir, 'host-cert.pem');
  let keyPem = await readIfExists(keyPath);
  let certPem = await readIfExists(certPath);
  if (!keyPem || !certPem) {
    const generated = generateSelfSignedCert();
    keyPem = generated.keyPem;
    certPem = generated.certPem;
    await writePrivate(keyPath, keyPem);
    await writePrivate(certPath, certPem);
  }
  let fingerprint: string;
  try {
    fingerprint = fingerprintOfPem(certPem);
  } catch (err) {
    throw new P2prcError('E_CONFIG', `host certificate ${certPath} is unreadable: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { token, tokenGenerated, tokenPath, keyPem, certPem, fingerprint };
}
