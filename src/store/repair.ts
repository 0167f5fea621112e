import path from 'node:path';
import { CLIENTS_FILE, readClientIds } from './client-id.js';
import { CONFIG_FILE, readConfigFile } from './config.js';
import { ipTablePath, readIpTableFile } from './iptable-file.js';
import { repairFile } from './json-file.js';
import { RecordStore } from './records.js';
import { readSecrets, secretsPath } from './secrets.js';

/**
 * `--repair` over the config directory: every file p2prc keeps there that its own reader refuses
 * (E_CONFIG naming it) is moved aside as `<file>.corrupt-<time>`; returns where each went.
 */
export async function repairConfigDir(dir: string): Promise<string[]> {
  const records = new RecordStore(dir);
  const moved = [
    await repairFile(path.join(dir, CONFIG_FILE), () => readConfigFile(dir)),
    // readSecrets reads config.json too: repaired first, so only secrets.json is left to blame.
    await repairFile(secretsPath(dir), () => readSecrets(dir)),
    await repairFile(path.join(dir, CLIENTS_FILE), () => readClientIds(path.join(dir, CLIENTS_FILE))),
    await repairFile(ipTablePath(dir), () => readIpTableFile(dir)),
    await records.repair('servers'),
    await records.repair('mappings'),
  ];
  return moved.filter((m): m is string => m !== undefined);
}
