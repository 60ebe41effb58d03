import { isRegistryError, RegistryError } from '@service-registry/core';
import type { Backend } from './backend.js';

/**
 * Runs backend calls so that every failure is thrown: a rejection, a call that does not answer within
 * `timeoutMs`, or an error the adapter only emitted (Keyv adapters emit and return `undefined`, which
 * would otherwise read as an empty fleet). An emitted error fails every call in flight at that moment:
 * the adapter does not say which call it belonged to, and a false outage heals on the next try.
 */
export class BackendGuard {
  private emitted = 0;
  private lastEmitted: unknown;
  private readonly listener = (error: unknown) => {
    this.emitted += 1;
    this.lastEmitted = error;
  };

  constructor(
    private readonly backend: Backend,
    private readonly timeoutMs: number,
  ) {
    backend.emitter?.on('error', this.listener);
  }

  async run<T>(operation: string, action: () => Promise<T>): Promise<T> {
    const before = this.emitted;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new RegistryError(
            'store-unavailable',
            `keyv store (${this.backend.kind}): ${operation} did not answer within ${this.timeoutMs} ms`,
          ),
        );
      }, this.timeoutMs);
      (timer as { unref?: () => void }).unref?.();
    });
    const attempt = action();
    // A late failure after the deadline must not become an unhandled rejection.
    attempt.catch(() => {});
    try {
      const result = await Promise.race([attempt, deadline]);
      if (this.emitted !== before) throw this.lastEmitted;
      return result;
    } catch (error) {
      if (isRegistryError(error)) throw error;
      throw new RegistryError(
        'store-unavailable',
        `keyv store (${this.backend.kind}): ${operation} failed: ${describe(error)}`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  release(): void {
    const emitter = this.backend.emitter;
    if (!emitter) return;
    if (emitter.off) emitter.off('error', this.listener);
    else emitter.removeListener?.('error', this.listener);
  }
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.message || error.name}${typeof code === 'string' && !error.message.includes(code) ? ` (${code})` : ''}`;
  }
  return String(error);
}
