import { isRegistryError } from '@service-registry/core';

/** Exit codes of `service-registry`, stable for scripts. */
export const EXIT = {
  ok: 0,
  /** An unexpected failure. */
  failure: 1,
  /** Bad flags or arguments, or missing configuration (no store, no secret). */
  usage: 2,
  /** The instance (or anything at all, for `inspect`) is not in the registry. */
  notFound: 3,
  /** The store could not be reached. */
  unavailable: 4,
  /** `purge` was not confirmed. */
  declined: 5,
  /** `inspect` found the record but cannot decrypt or validate it. */
  invalidRecord: 6,
} as const;

/** The exit code for an error a command threw. */
export function exitCodeFor(error: unknown): number {
  if (isRegistryError(error, 'store-unavailable') || isRegistryError(error, 'store-closed'))
    return EXIT.unavailable;
  if (
    isRegistryError(error, 'invalid-argument') ||
    isRegistryError(error, 'invalid-secret') ||
    isRegistryError(error, 'invalid-name') ||
    isRegistryError(error, 'unsupported')
  )
    return EXIT.usage;
  return EXIT.failure;
}

export const EXIT_CODES_HELP = `
Exit codes: 0 ok, 1 failure, 2 usage or configuration, 3 not found, 4 store unreachable,
5 purge not confirmed, 6 record cannot be decrypted or validated.`;
