export type { KeyvLike } from './backend.js';
export type { KeyvStore, KeyvStoreOptions } from './store.js';
export { keyvStore } from './store.js';
