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
  /** Present when the store declares `snapshot`. */
  getSnapshot?(namespace: string, service: string): Promise<string | Uint8Array | null>;
  putSnapshot?(namespace: string, service: string, value: string, ttlMs: number): Promise<void>;
}

export function guardStore(store: RegistryStore, logger: Logger): GuardedStore {
  // The default logger drops debug lines: then skip building them (a refresh's hot path).
  const debug = logger.debug !== silentLogger.debug;
  /** What a failed call throws: a `RegistryError` as it is, anything else as `store-unavailable`. */
  function failure(operation: string, target: () => string, started: number, error: unknown): RegistryError {
    if (debug)
      logger.debug(`${store.name}.${operation} failed`, { target: target(), ms: Date.now() - started });
    if (error instanceof RegistryError) return error;
    // The cause's message goes into ours, so `health().lastError.message` says why.
    const why = describeCause({ cause: error });
    return new RegistryError(
      'store-unavailable',
      `${store.name} store: ${operation} of ${target()} failed${why ? `: ${why}` : ''}`,
      { cause: error },
    );
  }
  async function call<T>(operation: string, target: () => string, run: () => Promise<T>): Promise<T> {
    const started = debug ? Date.now() : 0;
    try {
      const result = await run();
      if (debug) logger.debug(`${store.name}.${operation}`, { target: target(), ms: Date.now() - started });
      return result;
    } catch (error) {
      throw failure(operation, target, started, error);
    }
  }
  const get = store.capabilities.get === true ? store.get?.bind(store) : undefined;
  const comparePrevious = store.capabilities.comparePrevious === true;
  const getSnapshot = store.capabilities.snapshot === true ? store.getSnapshot?.bind(store) : undefined;
  const putSnapshot = store.capabilities.snapshot === true ? store.putSnapshot?.bind(store) : undefined;
  const snapshotTarget = (namespace: string, service: string) => () =>
    `the snapshot of ${namespace}:${service}`;
  return {
    name: store.name,
    comparePrevious,
    ...(getSnapshot &&
      putSnapshot && {
        getSnapshot: (namespace: string, service: string) =>
          call('getSnapshot', snapshotTarget(namespace, service), () => getSnapshot(namespace, service)),
        putSnapshot: (namespace: string, service: string, value: string, ttlMs: number) =>
          call('putSnapshot', snapshotTarget(namespace, service), () =>
            putSnapshot(namespace, service, value, ttlMs),
          ),
      }),
    ...(get && {
      get: (ref: RecordRef) =>
        call(
          'get',
          () => recordKey(ref),
          () => get(ref),
        ),
    }),
    // A refresh's hot path: no closures, no copy of the options unless they carry a comparison.
    put: async (ref, value, ttlMs, options) => {
      const started = debug ? Date.now() : 0;
      try {
        // A store that does not compare is never asked to (nor given a prefix it would ignore).
        const expectPrevious = options?.expectPrevious;
        const asked = comparePrevious && expectPrevious !== undefined;
        let passed = options;
        if (!asked && options !== undefined && expectPrevious !== undefined) {
          const { expectPrevious: _ignored, ...rest } = options;
          passed = rest;
        }
        const result = await store.put(ref, value, ttlMs, passed);
        if (debug) logger.debug(`${store.name}.put`, { target: recordKey(ref), ms: Date.now() - started });
        return asked && typeof result === 'object' && result !== null ? result : undefined;
      } catch (error) {
        throw failure('put', () => recordKey(ref), started, error);
      }
    },
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
