export type { ApicrudVector, SeedInfo } from './apicrud-format.js';
export {
  apicrudDecrypt,
  apicrudEncrypt,
  apicrudVectors,
  pythonJson,
  pythonRecordVector,
  seedValue,
} from './apicrud-format.js';
export type { RedisCluster, RedisClusterOptions } from './cluster.js';
export { startRedisCluster } from './cluster.js';
export type { EdgeBundle } from './edge-bundle.js';
export { bundleForEdge, nodeImportsIn } from './edge-bundle.js';
export type { FindPostgresOptions, FoundPostgres } from './find-postgres.js';
export { findPostgres } from './find-postgres.js';
export type { FindRedisOptions, FoundRedis } from './find-redis.js';
export { findRedis } from './find-redis.js';
export { deleteNamespace, escapeGlob, flushNamespace, randomNamespace } from './namespace.js';
export { freePort } from './processes.js';
export type { ClusterNode, MoveSlotOptions } from './reshard.js';
export { clusterNodes, masterOf, moveSlot, reshard } from './reshard.js';
export type { RespReply } from './resp.js';
export { sendCommand, waitForPing } from './resp.js';
export type { RedisAddress, RedisSentinel, RedisSentinelOptions } from './sentinel.js';
export { startRedisSentinel } from './sentinel.js';
export type { RedisServer, RedisServerOptions } from './server.js';
export { startRedisServer } from './server.js';
export type { CommandCount, InfoClient } from './stats.js';
export { commandStats, countCommands } from './stats.js';
export type { ClientTrace, TraceableClient } from './trace.js';
export { traceClient } from './trace.js';
