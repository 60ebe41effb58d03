import { isRegistryError, RegistryError } from '@service-registry/core';
import { type ConnectionWatch, explain, isGenericFailure } from './connection.js';

/**
 * Wraps an ioredis failure as `store-unavailable`: "unreachable" for connection failures and
 * timeouts, "answered with an error" for a reply error (OOM, WRONGTYPE, a script error). With the
 * connection's watch, the message names where it connects and why it failed (refused, not resolvable,
 * timed out, authentication, no such database), and a generic client error ("max retries per
 * request") is replaced by the connection's own last error, which becomes the `cause`.
 */
export function storeError(operation: string, error: unknown, connection?: ConnectionWatch): RegistryError {
  if (isRegistryError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const replied = error instanceof Error && error.name === 'ReplyError';
  if (connection === undefined) {
    const what = replied ? `redis answered with an error: ${message}` : `redis unreachable (${message})`;
    return new RegistryError('store-unavailable', `${operation} failed: ${what}`, { cause: error });
  }
  const { target, options } = connection;
  if (replied && !/NOAUTH|WRONGPASS|DB index/i.test(message)) {
    return new RegistryError(
      'store-unavailable',
      `${operation} failed: redis at ${target.where} answered with an error: ${message}`,
      { cause: error },
    );
  }
  const last = connection.lastError();
  const cause = isGenericFailure(error) && last !== undefined ? last : error;
  // Reached but refused: authentication, or a database the server lacks.
  const refused = cause instanceof Error && /NOAUTH|WRONGPASS|AUTH|DB index/i.test(cause.message);
  return new RegistryError(
    'store-unavailable',
    `${operation} failed: redis ${refused ? 'unusable' : 'unreachable'}: ${explain(cause, target, options)}`,
    { cause },
  );
}

export function closedError(operation: string): RegistryError {
  return new RegistryError('store-closed', `${operation} failed: the redis store is closed`);
}
