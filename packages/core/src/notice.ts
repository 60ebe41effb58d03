import { type Logger, silentLogger } from './runtime.js';

interface WarningProcess {
  emitWarning?: (message: string, options?: { type?: string; code?: string }) => void;
}

/**
 * Reports something an operator must see even when no logger was given: through the logger when one
 * was, else `process.emitWarning` where the runtime has it (Node prints it on stderr once), else
 * `console.warn` (Workers, Vercel Edge, browsers). Runtime-neutral: no `node:` import.
 */
export function warnLoudly(
  logger: Logger,
  code: string,
  message: string,
  fields: Record<string, unknown> = {},
): void {
  if (logger !== silentLogger) {
    logger.warn(message, fields);
    return;
  }
  const detail = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
  const text = `service-registry: ${message}${detail}`;
  const process = (globalThis as { process?: WarningProcess }).process;
  if (typeof process?.emitWarning === 'function') {
    process.emitWarning(text, { type: 'ServiceRegistryWarning', code });
    return;
  }
  globalThis.console?.warn?.(text);
}

/** A failure's message with its cause's, so `health().lastError.message` says why (refused, timed out, ...). */
/** The message of what was thrown: an `Error`'s, or the thrown value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function describeCause(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause instanceof Error && cause.message) return cause.message;
  if (typeof cause === 'string' && cause) return cause;
  return '';
}
