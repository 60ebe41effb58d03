import { RegistryError } from './errors.js';
import { describeCause } from './notice.js';
import { recordKey } from './record.js';
import { type Logger, silentLogger } from './runtime.js';
import type { PutOptions, PutResult, RecordRef, RegistryStore, StoredRecord } from './store.js';

/**
 * Core's one wrapper around a store: every call is logged at debug level, and anything a store throws
 * that is not already a `RegistryError` becomes `store-unavailable` with the original as `cause`.
 */
export interface GuardedStore {
  readonly name: string;
  /** The store declares `comparePrevious`: `put` honours `expectPrevious`. */
  readonly comparePrevious: boolean;
  /** Resolves to the store's `PutResult` when it answered one, else undefined. */
  put(ref: RecordRef, value: string, ttlMs: number, options?: PutOptions): Promise<PutResult | undefined>;
  delete(ref: RecordRef): Promise<void>;
  list(namespace: string, service?: string): Promise<StoredRecord[]>;
  /** Present when the store declares `get`. */
  get?(ref: RecordRef): Promise<string | null>;
}

export function guardStore(store: RegistryStore, logger: Logger): GuardedStore {
  // The default logger drops debug lines: then skip building them (a refresh's hot path).
  const debug = logger.debug !== silentLogger.debug;
  async function call<T>(operation: string, target: () => string, run: () => Promise<T>): Promise<T> {
    const started = debug ? Date.now() : 0;
    try {
      const result = await run();
      if (debug) logger.debug(`${store.name}.${operation}`, { target: target(), ms: Date.now() - started });
      return result;
    } catch (error) {
      if (debug)
        logger.debug(`${store.name}.${operation} failed`, { target: target(), ms: Date.now() - started });
      if (error instanceof RegistryError) throw error;
      // The cause's message goes into ours, so `health().lastError.message` says why.
      const why = describeCause({ cause: error });
      throw new RegistryError(
        'store-unavailable',
        `${store.name} store: ${operation} of ${target()} failed${why ? `: ${why}` : ''}`,
        { cause: error },
      );
    }
  }
  const get = store.capabilities.get === true ? store.get?.bind(store) : undefined;
  const comparePrevious = store.capabilities.comparePrevious === true;
  return {
    name: store.name,
    comparePrevious,
    ...(get && {
      get: (ref: RecordRef) =>
        call(
          'get',
          () => recordKey(ref),
          () => get(ref),
        ),
    }),
    put: (ref, value, ttlMs, options) =>
      call(
        'put',
        () => recordKey(ref),
        async () => {
          // A store that does not compare is never asked to (nor given a prefix it would ignore).
          const { expectPrevious, ...rest } = options ?? {};
          const asked = comparePrevious && expectPrevious !== undefined;
          const result = await store.put(ref, value, ttlMs, asked ? options : rest);
          return asked && typeof result === 'object' && result !== null ? result : undefined;
        },
      ),
    delete: (ref) =>
      call(
        'delete',
        () => recordKey(ref),
        () => store.delete(ref),
      ),
    list: (namespace, service) =>
      call(
        'list',
        () => (service === undefined ? `${namespace}:*` : `${namespace}:${service}:*`),
        () => store.list(namespace, service),
      ),
  };
}
