import { generateSelfSignedCert } from '../transport/cert.js';
import { ReverseProxyHost } from './host.js';
import { loadHostIdentity } from './identity.js';
import type { HostOptions } from './options.js';
import { generateSecret } from '../protocol/secret.js';

/** What the operator and clients need of a running host, whichever engine (native or a supervised frps) carries it. */
export interface HostEndpoint {
  /** The bound control port (useful with controlPort 0). */
  port: number;
  bind: string;
  token: string;
  tokenGenerated: boolean;
  tokenPath: string | undefined;
  fingerprint: string | undefined;
  tls: boolean;
  close(): Promise<void>;
}

export interface HostHandle extends HostEndpoint {
  host: ReverseProxyHost;
}

/** Loads or creates the host's identity, then listens. Resolves once the control port is bound. */
export async function startHost(options: HostOptions = {}): Promise<HostHandle> {
  let token = options.token;
  let tokenGenerated = false;
  let tokenPath: string | undefined;
  let keyPem: string | undefined;
  let certPem: string | undefined;
  let fingerprint: string | undefined;
  if (options.stateDir) {
    const id = await loadHostIdentity(options.stateDir, options.token);
    ({ token, tokenGenerated, tokenPath, keyPem, certPem, fingerprint } = id);
  } else {
    if (!token) {
      token = generateSecret();
      tokenGenerated = true;
    }
    if (options.tls ?? true) ({ keyPem, certPem, fingerprint } = generateSelfSignedCert());
  }
  const tls = options.tls ?? true;
  const host = new ReverseProxyHost({ ...options, token: token!, keyPem, certPem });
  const port = await host.listen();
  return {
    host,
    port,
    bind: host.options.bind,
    token: token!,
    tokenGenerated,
    tokenPath,
    fingerprint: tls ? fingerprint : undefined,
    tls,
    close: () => host.close(),
  };
}
