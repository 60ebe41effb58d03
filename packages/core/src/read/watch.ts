import type { Clock, Logger } from '../runtime.js';
import type { RegistryStore } from '../store.js';
import type { FindResult } from './directory.js';

/** Options of `registry.watch()`. */
export interface WatchOptions {
  /** Watch one service; default all services of the namespace. */
  service?: string;
  /** Seconds between polls, which catch expirations and changes on stores that cannot push. Default: the refresh interval. */
  pollInterval?: number;
}

export interface WatchContext {
  find(service?: string): Promise<FindResult>;
  store: RegistryStore;
  namespace: string;
  clock: Clock;
  logger: Logger;
  defaultPollMs: number;
}

/** What counts as a change for watchers: the live set, and what each instance serves and reports. */
function fingerprint(result: FindResult): string {
  return JSON.stringify(
    result.instances.map((instance) => [
      instance.name,
      instance.id,
      instance.status,
      instance.info,
      instance.meta,
    ]),
  );
}

export async function watchRegistry(
  context: WatchContext,
  onChange: (result: FindResult) => void,
  options: WatchOptions,
): Promise<() => Promise<void>> {
  const { clock, logger, store } = context;
  const pollMs = options.pollInterval === undefined ? context.defaultPollMs : options.pollInterval * 1000;
  let stopped = false;
  let last: string | undefined;
  let timer: unknown;
  let running: Promise<void> | undefined;
  let again = false;

  const check = async (): Promise<void> => {
    try {
      const result = await context.find(options.service);
      const current = fingerprint(result);
      if (!stopped && current !== last) {
        last = current;
        onChange(result);
      }
    } catch (error) {
      logger.warn('watch: find failed; retrying at the next poll', { error: String(error) });
    }
  };
  // Notices that arrive while a find runs are folded into one more find afterwards.
  const trigger = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = check().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        trigger();
      }
    });
  };
  const poll = (): void => {
    timer = clock.setTimeout(() => {
      trigger();
      poll();
    }, pollMs);
  };

  let unsubscribe: (() => Promise<void>) | undefined;
  if (store.capabilities.watch && store.watch) {
    unsubscribe = await store.watch(context.namespace, (service) => {
      if (options.service === undefined || options.service === service) trigger();
    });
  }
  await check();
  poll();
  return async () => {
    stopped = true;
    clock.clearTimeout(timer);
    await running;
    await unsubscribe?.();
  };
}
