// What `@service-registry/core` re-exports from its codecs and crypto backends.

export type { CbcKey, CryptoBackend, GcmKey } from '../crypto/backend.js';
export { getDefaultCryptoBackend, setDefaultCryptoBackend } from '../crypto/backend.js';
export { webCryptoBackend } from '../crypto/web.js';
export type { ApicrudCodecOptions } from './apicrud.js';
export { apicrudCodec } from './apicrud.js';
export type { DecodedRecord, RecordBody, RecordCodec, SecretInput } from './codec.js';
export type { GcmCodecOptions } from './gcm.js';
export { GCM_MIN_SECRET_LENGTH, gcmCodec } from './gcm.js';
