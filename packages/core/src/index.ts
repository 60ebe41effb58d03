export type {
  ApicrudCodecOptions,
  CbcKey,
  CryptoBackend,
  DecodedRecord,
  GcmCodecOptions,
  GcmKey,
  RecordBody,
  RecordCodec,
  SecretInput,
} from './codec/index.js';
export {
  apicrudCodec,
  GCM_MIN_SECRET_LENGTH,
  gcmCodec,
  getDefaultCryptoBackend,
  setDefaultCryptoBackend,
  webCryptoBackend,
} from './codec/index.js';
export type { RegistryErrorCode } from './errors.js';
export { isRegistryError, RegistryError } from './errors.js';
export type { ExpiryCheck, RegisterOptions, RegistryOptions } from './options.js';
export type { FindResult, UrlConflict } from './read/directory.js';
export { buildUrlMap } from './read/directory.js';
export { createDiscovery } from './read/view.js';
export { DISCOVERY_EVENTS } from './read/view-input.js';
export type { CreateDiscoveryOptions, DiscoveryOptions } from './read/view-options.js';
export type {
  DiscoveryEvents,
  DiscoverySnapshot,
  DiscoveryStats,
  DiscoveryView,
  InstancesOptions,
  Lease,
  PickOptions,
  PickStrategy,
  RemovalReason,
} from './read/view-types.js';
export type { WatchOptions } from './read/watch.js';
export type { Instance, InstanceInfo, InstanceStatus } from './record.js';
export { INSTANCE_STATUSES, parseRecord, recordKey, serializeRecord } from './record.js';
export type { RegistryEvents, RegistryHealth } from './registry.js';
export { ServiceRegistry } from './registry.js';
export type { Clock, Logger } from './runtime.js';
export { silentLogger, systemClock } from './runtime.js';
export type {
  KeyLayout,
  PutOptions,
  PutResult,
  RecordRef,
  RegistryStore,
  ServiceProbe,
  StoreCapabilities,
  StoredRecord,
  StoreWatchOptions,
} from './store.js';
export { COUNTER_RESET_LEAP, isCounterReset } from './store.js';
export type { ClockHealth } from './store-time.js';
export { CLOCK_SKEW_WARN_MS, StoreTime } from './store-time.js';
export {
  assertKnownOptions,
  assertName,
  isValidName,
  MAX_ENDPOINTS,
  MAX_NAME_LENGTH,
  nearestName,
} from './validate.js';
export type { DuplicateState } from './write/duplicates.js';
export type { HealthCheckState } from './write/health-gate.js';
export type { RegistrationHealth } from './write/registration.js';
