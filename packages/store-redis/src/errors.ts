import { isRegistryError, RegistryError } from '@service-registry/core';

/**
 * Wraps an ioredis failure as `store-unavailable`: "unreachable" for connection failures and
 * timeouts, "answered with an error" for a reply error (OOM, WRONGTYPE, a script error).
 */
export function storeError(operation: string, error: unknown): RegistryError {
  if (isRegistryError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const replied = error instanceof Error && error.name === 'ReplyError';
  const what = replied ? `redis answered with an error: ${message}` : `redis unreachable (${message})`;
  return new RegistryError('store-unavailable', `${operation} failed: ${what}`, { cause: error });
}

export function closedError(operation: string): RegistryError {
  return new RegistryError('store-closed', `${operation} failed: the redis store is closed`);
}
