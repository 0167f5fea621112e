/**
 * The shape of config.json and secrets.json, checked on every read and every write (config.json
 * through conf's `deserialize` and `serialize`). A hand-written check rather than conf's JSON Schema,
 * which ajv would compile into code each time the file is opened. Keys it does not know are left
 * alone: P2PRC's Go writes its own keys into the same config.json.
 */

/** What secrets.json holds (src/store/secrets.ts): tokens, and the pins and confirmations that decide where they go. */
export interface P2prcSecrets {
  token?: string;
  hostTokens?: Record<string, string>;
  /** TOFU pins, "host:port" -> certificate fingerprint. */
  fingerprints?: Record<string, string>;
  /** Host certificates the operator confirmed (--trust): auto prefers them among hosts learned from peers. */
  trustedFingerprints?: string[];
  /** "host:port" -> service ID -> the secret this machine offers it with (`--service`, a config file's services), kept across restarts. */
  ownerSecrets?: Record<string, Record<string, string>>;
}

/** The keys of P2prcSecrets: an older p2prc kept them in config.json, from where they are moved. */
export const SECRET_KEYS = ['token', 'hostTokens', 'fingerprints', 'trustedFingerprints'] as const;

/** Settings, in config.json (conf). */
export interface P2prcSettings {
  controlPort?: number;
  preferredHosts?: string[];
  /** "host:port" -> when that host last refused us (automatic choice skips it for a while). */
  refusals?: Record<string, string>;
  /** For P2PRC's Go (config/config.go reads it): the absolute path of the IP table file. */
  IPTable?: string;
  /** For P2PRC's Go: the port its node server listens on, a string as Go declares it. */
  ServerPort?: string;
}

/** What config.json may hold: settings, and secrets an older p2prc stored there (read until moved). */
export type P2prcConfig = P2prcSettings & P2prcSecrets;

type Check = (value: unknown, at: string) => string | undefined;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const text =
  (minLength = 0): Check =>
  (v, at) =>
    typeof v !== 'string'
      ? `\`${at}\` must be string`
      : v.length < minLength
        ? `\`${at}\` must NOT have fewer than ${minLength} characters`
        : undefined;

const port: Check = (v, at) =>
  !Number.isInteger(v)
    ? `\`${at}\` must be integer`
    : (v as number) < 1
      ? `\`${at}\` must be >= 1`
      : (v as number) > 65535
        ? `\`${at}\` must be <= 65535`
        : undefined;

const listOf =
  (item: Check): Check =>
  (v, at) => {
    if (!Array.isArray(v)) return `\`${at}\` must be array`;
    for (let i = 0; i < v.length; i++) {
      const bad = item(v[i], `${at}/${i}`);
      if (bad) return bad;
    }
    return undefined;
  };

const mapOf =
  (item: Check): Check =>
  (v, at) => {
    if (!isRecord(v)) return `\`${at}\` must be object`;
    for (const [k, x] of Object.entries(v)) {
      const bad = item(x, `${at}/${k}`);
      if (bad) return bad;
    }
    return undefined;
  };

const RULES: Record<keyof P2prcConfig, Check> = {
  token: text(1),
  controlPort: port,
  preferredHosts: listOf(text()),
  hostTokens: mapOf(text()),
  fingerprints: mapOf(text()),
  refusals: mapOf(text()),
  trustedFingerprints: listOf(text()),
  ownerSecrets: mapOf(mapOf(text(1))),
  IPTable: text(),
  ServerPort: text(),
};

/** Every rule config.json (or secrets.json) breaks, one message each; empty when it is valid. */
export function configViolations(value: unknown): string[] {
  if (!isRecord(value)) return ['the file must hold a JSON object'];
  const found: string[] = [];
  for (const [key, check] of Object.entries(RULES)) {
    if (!Object.hasOwn(value, key)) continue;
    const bad = check(value[key], key);
    if (bad) found.push(bad);
  }
  return found;
}

/** Returns `value` when config.json may hold it; otherwise throws with every rule it breaks. */
export function checkConfig<T>(value: T): T {
  const found = configViolations(value);
  if (found.length > 0) throw new Error(`Config schema violation: ${found.join('; ')}`);
  return value;
}
