export type {
  UpstashClientLike,
  UpstashConnectionOptions,
  UpstashPipelineLike,
  UpstashPipelineReply,
} from './client.js';
export { upstashClientDefaults } from './client.js';
export type {
  UpstashFromEnvOptions,
  UpstashStore,
  UpstashStoreClientOptions,
  UpstashStoreFactory,
  UpstashStoreOptions,
  UpstashStoreUrlOptions,
} from './store.js';
export { fromEnv, upstashStore } from './store.js';
