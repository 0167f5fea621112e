import { randomBytes } from 'node:crypto';

/**
 * A generated token or service secret: 24 random bytes, base64url. It is printed in a command line
 * (`--token <t>`, `--secret <s>`), where one starting with "-" would be read as a flag, so such a
 * draw (1 in 64) is drawn again.
 */
export function generateSecret(): string {
  for (;;) {
    const s = randomBytes(24).toString('base64url');
    if (!s.startsWith('-')) return s;
  }
}
