import net from 'node:net';
import { P2prcError, toP2prcError } from '../errors.js';
import { secretsPath, updateSecrets } from '../store/index.js';
import { debugFailure } from '../log/debug.js';

/**
 * What a client keeps about a host after a successful login, in secrets.json (mode 0600, written
 * under its lock): the certificate pin (trust on first use, said once; a new --fingerprint replaces
 * it) and the token, so the next run needs only the address.
 */
export async function rememberHost(
  configDir: string,
  key: string,
  seen: { fingerprint: string | undefined; token: string },
  say: (line: string) => void,
): Promise<void> {
  const lines = await updateSecrets(configDir, (secrets) => {
    const said: string[] = [];
    const pins = secrets.fingerprints ?? {};
    if (seen.fingerprint && pins[key] !== seen.fingerprint) {
      secrets.fingerprints = { ...pins, [key]: seen.fingerprint };
      said.push(
        pins[key]
          ? `re-pinned ${seen.fingerprint} for ${key} (was ${pins[key]})`
          : `pinned ${seen.fingerprint} for ${key}`,
      );
    }
    const tokens = secrets.hostTokens ?? {};
    if (tokens[key] !== seen.token) {
      secrets.hostTokens = { ...tokens, [key]: seen.token };
      said.push(`token for ${key} stored in ${secretsPath(configDir)} (a secret: next time the address is enough)`);
    }
    return said;
  });
  lines.forEach((line) => say(line));
}

/**
 * A certificate that does not match what the client expected, said by where the expectation came from.
 * From the stored pin: how to trust the new certificate on purpose. From --fingerprint (nothing stored,
 * or a pin typed over the stored one): that the typed fingerprint is the one that differs, so a typo is
 * not taken for a host whose certificate changed.
 */
export function explainPinMismatch(err: unknown, key: string, pinnedFromStore: boolean): unknown {
  const e = toP2prcError(err);
  if (e.code !== 'E_TLS' || e.details.actual === undefined || e.details.expected === undefined) return err;
  if (!pinnedFromStore)
    return new P2prcError(
      'E_TLS',
      `the certificate of ${key} does not match the fingerprint given with --fingerprint (given ${String(e.details.expected)}, the host's is ${String(e.details.actual)}); check it with the host's operator (its banner prints it)`,
      { cause: e, details: { ...e.details, source: 'flag' } },
    );
  return new P2prcError(
    'E_TLS',
    `${e.message}. If the host's certificate changed on purpose (check with its operator), re-pin it: --fingerprint ${String(e.details.actual)} (stored pins: fingerprints in secrets.json for ${key})`,
    { cause: e, details: e.details },
  );
}

/** Warns once per --expose port nothing listens on: visitors would get an empty reply. */
export async function checkLocalPorts(
  ports: Array<{ name: string; port: number }>,
  say: (line: string) => void,
): Promise<void> {
  await Promise.all(
    ports.map(async ({ name, port }) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      try {
        await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      } catch (err) {
        debugFailure(`nothing on 127.0.0.1:${port}`, err, 'E_UNREACHABLE');
        say(
          `warning: nothing listens on 127.0.0.1:${port} (${name}); visitors get an empty reply until a service runs there`,
        );
      } finally {
        socket.destroy();
      }
    }),
  );
}
