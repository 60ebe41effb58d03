import { isRegistryError, RegistryError } from '@service-registry/core';

// The client appends the whole command to a server error (", command was: [...]"): the record value
// and, for EVAL, the script. Neither belongs in a log line; the original error stays as `cause`.
const COMMAND_ECHO = /, command was: [\s\S]*$/;

function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return `upstash unreachable (${String(error)})`;
  const message = error.message.replace(COMMAND_ECHO, '');
  switch (error.name) {
    case 'UpstashError':
      return `upstash answered with an error: ${message}`;
    case 'UpstashJSONParseError':
      return 'upstash sent a response that is not JSON';
    case 'TimeoutError':
    case 'AbortError':
      return `upstash did not answer in time (${message})`;
    default: {
      // fetch's own message is only "fetch failed"; the cause says why (ECONNREFUSED, ENOTFOUND, ...).
      const code = (error.cause as { code?: unknown } | undefined)?.code;
      return `upstash unreachable (${message}${typeof code === 'string' ? `: ${code}` : ''})`;
    }
  }
}

/**
 * Wraps a client failure (HTTP error, timeout, dropped connection, unreadable body) as
 * `store-unavailable`. `where` (the REST URL's host, when the store made the client) is named for
 * failures to reach it, so a wrong URL shows in the message.
 */
export function storeError(operation: string, error: unknown, where?: string): RegistryError {
  if (isRegistryError(error)) return error;
  const what = describeFailure(error);
  const at = where !== undefined && !what.startsWith('upstash answered') ? ` at ${where}` : '';
  return new RegistryError('store-unavailable', `${operation} failed: ${what}${at}`, { cause: error });
}

/** A command error reported inside a pipeline reply, named as the client names its own. */
export class PipelineCommandError extends Error {
  override readonly name = 'UpstashError';
}

export function closedError(operation: string): RegistryError {
  return new RegistryError('store-closed', `${operation} failed: the upstash store is closed`);
}
