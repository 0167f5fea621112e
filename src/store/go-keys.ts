import path from 'node:path';
import { SECRET_KEYS } from './config-schema.js';
import { readConfigFile } from './config.js';
import { ipTablePath } from './iptable-file.js';
import { updateConfig } from './secrets.js';

/** P2PRC's default node server port (config/generate/generate.go); p2prc's node server defaults to it too. */
export const GO_SERVER_PORT = '8088';

/**
 * config.json is also P2PRC's: its Go reads `$P2PRC/config.json` into its Config struct
 * (config/config.go) on every command. Two keys make this directory usable there: `IPTable`, the
 * table file every table command opens (without it `--ls` prints nothing, `--as` writes nowhere), and
 * `ServerPort`, where its node server listens (without it, a random port). Filled in when missing or
 * empty; a value Go or the user wrote stays, as do keys p2prc does not know. Secrets an older p2prc
 * left there are moved out on the same write (see updateConfig).
 */
export async function ensureGoKeys(dir: string): Promise<void> {
  const wanted = { IPTable: path.resolve(ipTablePath(dir)), ServerPort: GO_SERVER_PORT };
  const onDisk = await readConfigFile(dir);
  const missing = (Object.keys(wanted) as Array<keyof typeof wanted>).some((k) => !onDisk[k]);
  if (!missing && !SECRET_KEYS.some((k) => onDisk[k] !== undefined)) return;
  await updateConfig(dir, (config) => {
    const add = Object.fromEntries(Object.entries(wanted).filter(([k]) => !config.get(k as keyof typeof wanted)));
    if (Object.keys(add).length > 0) config.set(add);
  });
}
