import { RegistryError } from '../errors.js';
import type { CbcKey, GcmKey } from './backend.js';

export const AES_BLOCK_BYTES = 16;

/** The backend's own key object behind a handle, or `invalid-argument` for another backend's handle. */
export function preparedKey<T>(keys: WeakMap<GcmKey | CbcKey, T>, key: GcmKey | CbcKey, backend: string): T {
  const prepared = keys.get(key);
  if (prepared === undefined) {
    throw new RegistryError(
      'invalid-argument',
      `${key.algorithm} key was not prepared by the ${backend} backend`,
    );
  }
  return prepared;
}

export function assertWholeBlocks(data: Uint8Array): void {
  if (data.length % AES_BLOCK_BYTES !== 0) {
    throw new RegistryError('invalid-argument', 'unpadded AES-CBC data must be a multiple of 16 bytes');
  }
}
