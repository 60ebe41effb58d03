export type { RedisArgument, RedisClientLike, RedisPipelineLike, RedisSubscriberLike } from './client.js';
export { ownedConnectionDefaults } from './client.js';
export type {
  RedisStore,
  RedisStoreClientOptions,
  RedisStoreOptions,
  RedisStoreUrlOptions,
} from './store.js';
export { redisStore } from './store.js';
