export type { ApicrudViewParts } from './apicrud.js';
export {
  APICRUD_SCAN_COUNT,
  apicrudDeleteCommand,
  apicrudKey,
  apicrudMgetCommands,
  apicrudPutCommand,
  apicrudRecord,
  apicrudRecords,
  apicrudScanCommand,
  apicrudScanPattern,
  apicrudStoreView,
  apicrudTtlSeconds,
  parseScanReply,
  scanKeys,
} from './apicrud.js';
export type { DirectoryOptions, ListServiceCallOptions, PutCallOptions, ScriptCall } from './calls.js';
export {
  brokenIndexRecord,
  bumpNamespaceCall,
  COUNTER_LIFETIME_MS,
  changeCountCall,
  deleteCall,
  listServiceCall,
  listServicesCall,
  parseChangeCount,
  parseProbe,
  parseProbes,
  parseRecords,
  parseServices,
  probeServiceCall,
  probeServicesCall,
  putCall,
  scriptArguments,
  touchServiceCall,
  ttlArgument,
} from './calls.js';
export {
  changeCounterKey,
  changesChannel,
  indexKey,
  isLiveEntry,
  namespaceCounterKey,
  recordKey,
  recordKeyPrefix,
  serviceChannel,
  servicesKey,
  snapshotKey,
} from './keys.js';
export { type PutReply, parsePutReply, readPutReply, UpkeepHorizons } from './put-reply.js';
export {
  batchTime,
  type CommandReply,
  clockCommand,
  type IndexEntry,
  indexWrite,
  type RedisCommand,
  type RoutineOutcome,
  RoutineRefresh,
} from './routine-refresh.js';
export type { ScriptOutcome, ScriptTransport } from './run-scripts.js';
export { isNoScriptError, runScript, runScriptPipeline } from './run-scripts.js';
export type { RedisScript } from './scripts.js';
export {
  bumpCounterScript,
  changeCountScript,
  deleteScript,
  listServiceScript,
  listServicesScript,
  probeServiceScript,
  probeServicesScript,
  putScript,
  scripts,
  touchServiceScript,
} from './scripts.js';
export { sha1Hex } from './sha1.js';
export { keySlot } from './slot.js';
export { checkedSnapshotKey, parseSnapshotReply, type SnapshotWrite, snapshotWrite } from './snapshot.js';
