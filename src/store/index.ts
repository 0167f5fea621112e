export { RecordStore, SERVERS_FILE, MAPPINGS_FILE, recordWriteWarning } from './records.js';
export { MAX_PEER_SERVERS, isPeerRecord, sameFingerprint } from './peer-records.js';
export {
  RECORDS_VERSION,
  validateServersFile,
  validateMappingsFile,
  type ServerRecord,
  type MappingRecord,
  type ServersFile,
  type MappingsFile,
} from './schema.js';
export { isProcessAlive, writeFileAtomic, withFileLock } from './atomic.js';
export {
  resolveConfigDir,
  openConfig,
  readConfigFile,
  CONFIG_FILE,
  type P2prcConfig,
  type P2prcSecrets,
  type P2prcSettings,
} from './config.js';
export { SECRETS_FILE, secretsPath, readSecrets, updateSecrets, updateConfig } from './secrets.js';
export { ensureGoKeys, GO_SERVER_PORT } from './go-keys.js';
export {
  IPTABLE_FILE,
  ipTablePath,
  readIpTableFile,
  modifyIpTableFile,
  addIpTableEntry,
  removeIpTableEntries,
  tableEntryKey,
  type TableFile,
  type TableEntry,
} from './iptable-file.js';
export { claimClientId, CLIENTS_FILE } from './client-id.js';
export { ensureConfigDir } from './config-dir.js';
