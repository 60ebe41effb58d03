import { type PutResult, RegistryError } from '@service-registry/core';
import { putScript } from './scripts.js';

/**
 * Reads the reply of a `putCall` given `expectPrevious`: `added` (a number) when the record held
 * nothing or what this writer wrote, `{added, previous}` when it held another value.
 */
export function parsePutReply(reply: unknown): PutResult {
  if (!Array.isArray(reply)) {
    if (typeof reply === 'number' || typeof reply === 'string') return { matched: true };
    throw new RegistryError(
      'store-unavailable',
      `unexpected reply to the ${putScript.name} script: ${typeof reply}`,
    );
  }
  const previous: unknown = reply[1];
  // ioredis may hand back a Buffer; a REST client that parses JSON, a number.
  if (typeof previous === 'string') return { matched: false, previous };
  if (typeof previous === 'number') return { matched: false, previous: String(previous) };
  if (previous instanceof Uint8Array) return { matched: false, previous: new TextDecoder().decode(previous) };
  throw new RegistryError(
    'store-unavailable',
    `unexpected previous value in a ${putScript.name} reply: ${typeof previous}`,
  );
}
