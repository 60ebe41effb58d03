import { isRegistryError, ServiceRegistry } from '@service-registry/core';
import type { RedisOptions } from 'ioredis';
import { openStore } from './open-store.js';

/** One `find()` of a reader: when it ran and, when it answered, the instance ids it listed. */
export interface Sample {
  readonly startedAt: number;
  /** When `find()` settled. Listing times use this (the later end), which never flatters the registry. */
  readonly at: number;
  readonly ids: ReadonlySet<string> | undefined;
}

export interface Reader {
  readonly label: string;
  readonly samples: Sample[];
  /** Failed `find()` calls by error code (`store-unavailable` is expected during outages and faults). */
  readonly failuresByCode: Record<string, number>;
  /** Failures that were not a `RegistryError` with code `store-unavailable`: each is a bound broken. */
  readonly unexpected: string[];
  stop(): Promise<void>;
}

export interface ReaderOptions {
  label: string;
  url: string;
  /** ioredis options over the store's fast-failure defaults. */
  connection?: RedisOptions;
  namespace: string;
  secret: string;
  ttlSeconds: number;
  intervalSeconds: number;
  /** Time from the start of one `find()` to the start of the next, in ms. */
  pollMs: number;
}

/**
 * Calls `find()` (every service) in a chained loop and keeps every answer. A reader never registers
 * itself: it is what any client of the registry sees.
 */
export function startReader(options: ReaderOptions): Reader {
  const { store, close } = openStore(options.url, options.connection);
  const registry = new ServiceRegistry({
    store,
    secret: options.secret,
    namespace: options.namespace,
    ttl: options.ttlSeconds,
    interval: options.intervalSeconds,
  });
  const samples: Sample[] = [];
  const failuresByCode: Record<string, number> = {};
  const unexpected: string[] = [];
  let running = true;
  let wake: (() => void) | undefined;

  const loop = async (): Promise<void> => {
    while (running) {
      const startedAt = Date.now();
      try {
        const { instances } = await registry.find();
        samples.push({ startedAt, at: Date.now(), ids: new Set(instances.map((instance) => instance.id)) });
      } catch (error) {
        samples.push({ startedAt, at: Date.now(), ids: undefined });
        const code = isRegistryError(error) ? error.code : 'not-a-RegistryError';
        failuresByCode[code] = (failuresByCode[code] ?? 0) + 1;
        if (code !== 'store-unavailable' && unexpected.length < 20) {
          unexpected.push(`${options.label}: find() threw ${code}: ${String(error)}`);
        }
      }
      const waitMs = Math.max(0, startedAt + options.pollMs - Date.now());
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, waitMs);
      });
    }
  };
  const done = loop();

  return {
    label: options.label,
    samples,
    failuresByCode,
    unexpected,
    async stop() {
      running = false;
      wake?.();
      await done;
      await registry.close();
      await close();
    },
  };
}
