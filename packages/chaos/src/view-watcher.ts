import { createDiscovery, type RemovalReason } from '@service-registry/core';
import type { RedisOptions } from 'ioredis';
import { openStore } from './open-store.js';
import type { Sample } from './watcher.js';

/** One `added` or `removed` event of a view, stamped with the orchestrator's clock when it fired. */
export interface ViewEvent {
  readonly at: number;
  readonly type: 'added' | 'removed';
  readonly id: string;
  readonly reason?: RemovalReason;
}

/**
 * A discovery view held by the orchestrator (its own store connection, like any client of the
 * registry): its events as they fire, and its `snapshot()` sampled at the observer's cadence.
 */
export interface ViewReader {
  readonly label: string;
  /** True when it goes through the fault proxy (judged loosely while a proxy fault is on). */
  readonly proxied: boolean;
  /** Only these services' instances (undefined: every service). */
  readonly services: readonly string[] | undefined;
  /** `snapshot()` every `pollMs`: reads are synchronous, so `startedAt` = `at`. */
  readonly samples: Sample[];
  readonly events: ViewEvent[];
  /** Samples taken while the view said it was stale, and `stale` events. */
  readonly staleSamples: number;
  readonly staleEvents: number;
  readonly guardedEvents: number;
  stop(): Promise<void>;
}

export interface ViewReaderOptions {
  label: string;
  url: string;
  proxied: boolean;
  connection?: RedisOptions;
  services?: readonly string[];
  /** The view's `maxStaleness`, in seconds (default the ttl). */
  maxStalenessSeconds?: number;
  namespace: string;
  secret: string;
  ttlSeconds: number;
  intervalSeconds: number;
  pollMs: number;
}

/** Opens a view with `createDiscovery()` and records what it shows until `stop()`. */
export function startViewReader(options: ViewReaderOptions): ViewReader {
  const { store, close } = openStore(options.url, options.connection);
  const view = createDiscovery({
    store,
    secret: options.secret,
    namespace: options.namespace,
    ttl: options.ttlSeconds,
    interval: options.intervalSeconds,
    ...(options.services ? { services: options.services } : {}),
    ...(options.maxStalenessSeconds === undefined ? {} : { maxStaleness: options.maxStalenessSeconds }),
    // The orchestrator's console is the report: the view's warnings (stale, guarded) are counted instead.
    logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  const samples: Sample[] = [];
  const events: ViewEvent[] = [];
  const counts = { staleSamples: 0, staleEvents: 0, guardedEvents: 0 };
  view.on('added', ({ instance }) => events.push({ at: Date.now(), type: 'added', id: instance.id }));
  view.on('removed', ({ instance, reason }) =>
    events.push({ at: Date.now(), type: 'removed', id: instance.id, reason }),
  );
  view.on('stale', () => counts.staleEvents++);
  view.on('guarded', () => counts.guardedEvents++);
  // Until the first load the view holds nothing, which says nothing: sampling starts at `ready`.
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  view.ready.then(
    () => {
      if (stopped) return;
      timer = setInterval(() => {
        const snapshot = view.snapshot();
        if (snapshot.stale) counts.staleSamples++;
        const at = Date.now();
        samples.push({ startedAt: at, at, ids: new Set(snapshot.instances.map((instance) => instance.id)) });
      }, options.pollMs);
    },
    () => {},
  );

  return {
    label: options.label,
    proxied: options.proxied,
    services: options.services,
    samples,
    events,
    get staleSamples() {
      return counts.staleSamples;
    },
    get staleEvents() {
      return counts.staleEvents;
    },
    get guardedEvents() {
      return counts.guardedEvents;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await view.close();
      await close();
    },
  };
}

/** Above the chaos run's longest outage (ttl + 2 s): past it a view empties by design (core's tests cover that). */
const VIEW_MAX_STALENESS_SECONDS = 10;

/**
 * The chaos run's views, each with its own connection: one straight to Redis (the store's defaults),
 * one of every service and one of a single service through the fault proxy (pushed notices on that
 * service's own channel), so faults reach them as they reach the instances.
 */
export function startChaosViews(
  base: Omit<ViewReaderOptions, 'label' | 'url' | 'proxied'>,
  directUrl: string,
  proxyUrl: string,
): ViewReader[] {
  const options = { ...base, maxStalenessSeconds: VIEW_MAX_STALENESS_SECONDS };
  return [
    startViewReader({ ...options, label: 'view (direct)', url: directUrl, proxied: false }),
    startViewReader({ ...options, label: 'view via the proxy', url: proxyUrl, proxied: true }),
    startViewReader({
      ...options,
      label: 'view of orders via the proxy',
      url: proxyUrl,
      proxied: true,
      services: ['orders'],
    }),
  ];
}
