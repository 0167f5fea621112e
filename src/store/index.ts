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
export { resolveConfigDir, openConfig, type P2prcConfig } from './config.js';
export {
  IPTABLE_FILE,
  ipTablePath,
  readIpTableFile,
  modifyIpTableFile,
  addIpTableEntry,
  tableEntryKey,
  type TableFile,
  type TableEntry,
} from './iptable-file.js';
export { claimClientId, CLIENTS_FILE } from './client-id.js';
export { ensureConfigDir } from './config-dir.js';
