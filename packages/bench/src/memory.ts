// The memory part (`pnpm bench --only memory`): what 10,000 cached instances cost a view and find's
// decode cache (live heap after a full GC, and RSS), and a bounded churn soak that samples heap and
// RSS over time while instances join, leave, crash and change status. Runs on a redis-server of its
// own, so values arrive as fresh strings from the wire, as in production. Not run in CI.

import { createDiscovery, type DiscoveryView, gcmCodec, ServiceRegistry } from '@service-registry/core';
import { startRedisServer } from '@service-registry/redis-testing';
import { redisStore } from '@service-registry/store-redis';
import { Redis } from 'ioredis';
import { collectGarbage, ENDPOINTS, progress, runBounded, SECRET } from './lib.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MiB = 1024 ** 2;

export interface MemoryOptions {
  /** Cached instances measured (10 services of a tenth each). Full run: 10,000. */
  readonly cached: number;
  readonly soakSeconds: number;
  /** Live instances during the soak, and churn events per second. */
  readonly soakInstances: number;
  readonly soakChurnPerSecond: number;
}

export interface MemorySample {
  readonly seconds: number;
  readonly heapMiB: number;
  readonly rssMiB: number;
  readonly live: number;
  readonly cached: number;
}

export interface MemoryResult {
  readonly cached: number;
  /** Bytes per cached instance, live heap after GC, and RSS delta. */
  readonly view: { heap: number; rss: number };
  readonly find: { heap: number; rss: number };
  readonly soak: {
    readonly samples: readonly MemorySample[];
    readonly churned: number;
    readonly ttl: number;
    readonly interval: number;
  };
}

function live(): { heap: number; rss: number } {
  collectGarbage();
  const { heapUsed, rss } = process.memoryUsage();
  return { heap: heapUsed, rss };
}

/** Bytes per instance that `hold()` keeps alive, measured as the live-heap and RSS delta it causes. */
async function perInstance(
  count: number,
  hold: () => Promise<unknown>,
): Promise<{ heap: number; rss: number }> {
  const before = live();
  const held = await hold();
  const after = live();
  // Keeps `held` reachable until after the measurement.
  if (held === null) progress('nothing held');
  return { heap: (after.heap - before.heap) / count, rss: (after.rss - before.rss) / count };
}

/** Least-squares slope of heap (MiB per minute) over the samples. */
export function slopePerMinute(
  samples: readonly MemorySample[],
  pick: (sample: MemorySample) => number,
): number {
  const n = samples.length;
  if (n < 2) return Number.NaN;
  const meanX = samples.reduce((total, sample) => total + sample.seconds, 0) / n;
  const meanY = samples.reduce((total, sample) => total + pick(sample), 0) / n;
  let top = 0;
  let bottom = 0;
  for (const sample of samples) {
    top += (sample.seconds - meanX) * (pick(sample) - meanY);
    bottom += (sample.seconds - meanX) ** 2;
  }
  return (top / bottom) * 60;
}

export async function benchMemory(options: MemoryOptions): Promise<MemoryResult> {
  const server = await startRedisServer();
  const clients = Array.from({ length: 4 }, () => new Redis(server.url));
  const store = (index: number) => redisStore({ client: clients[index % clients.length] as Redis });
  const codec = gcmCodec(SECRET);
  const stores: ReturnType<typeof redisStore>[] = [];
  const opened = (index: number) => {
    const made = store(index);
    stores.push(made);
    return made;
  };
  try {
    const namespace = `memory-${Date.now().toString(36)}`;
    progress(`memory: registering ${options.cached} instances (refresh off)`);
    const writers = Array.from({ length: 4 }, (_, index) => opened(index));
    await runBounded(options.cached, 100, async (index) => {
      const registry = new ServiceRegistry({
        store: writers[index % writers.length] as ReturnType<typeof redisStore>,
        codec,
        namespace,
        publicUrl: `http://m${index}.test`,
        ttl: 3600,
      });
      await registry.register(ENDPOINTS, {
        serviceName: `svc${index % 10}`,
        instanceId: `m${index}`,
        port: 8080,
        meta: { zone: `z${index % 3}`, version: '1.4.2' },
        refresh: false,
      });
      await registry.close({ deregister: false });
    });
    progress('memory: a view of every service, then find() of every service');
    let view: DiscoveryView | undefined;
    const viewCost = await perInstance(options.cached, async () => {
      view = createDiscovery({ store: opened(0), codec, namespace, ttl: 3600, interval: 1200 });
      await view.ready;
      return view;
    });
    await view?.close();
    const reader = new ServiceRegistry({ store: opened(1), codec, namespace });
    const findCost = await perInstance(options.cached, async () => {
      for (let service = 0; service < 10; service++) await reader.find(`svc${service}`);
      return reader;
    });
    await reader.close();
    const soak = await soakRun(options, opened);
    return { cached: options.cached, view: viewCost, find: findCost, soak };
  } finally {
    await Promise.all(stores.map((made) => made.close()));
    for (const client of clients) client.disconnect();
    await server.stop();
  }
}

async function soakRun(
  options: MemoryOptions,
  opened: (index: number) => ReturnType<typeof redisStore>,
): Promise<MemoryResult['soak']> {
  const ttl = 6;
  const interval = 2;
  const namespace = `soak-${Date.now().toString(36)}`;
  const codec = gcmCodec(SECRET);
  const writers = Array.from({ length: 4 }, (_, index) => opened(index));
  let next = 0;
  const join = async () => {
    const index = next++;
    const registry = new ServiceRegistry({
      store: writers[index % writers.length] as ReturnType<typeof redisStore>,
      codec,
      namespace,
      publicUrl: `http://k${index}.test`,
      ttl,
      interval,
    });
    await registry.register(ENDPOINTS, {
      serviceName: `svc${index % 20}`,
      instanceId: `k${index}`,
      port: 80,
    });
    return registry;
  };
  const fleet: ServiceRegistry[] = [];
  progress(
    `memory soak: ${options.soakInstances} instances, ttl ${ttl} / interval ${interval}, ${options.soakSeconds} s`,
  );
  await runBounded(options.soakInstances, 100, async () => {
    fleet.push(await join());
  });
  // Five views of every service, each with its own store (subscriber), as separate processes.
  const views = Array.from({ length: 5 }, (_, index) =>
    createDiscovery({ store: opened(index), codec, namespace, ttl, interval }),
  );
  await Promise.all(views.map((view) => view.ready));
  let churned = 0;
  const churn = async () => {
    const step = churned++;
    const kind = step % 3;
    const position = Math.floor(Math.random() * fleet.length);
    const registry = fleet[position] as ServiceRegistry;
    if (kind === 0) {
      await registry.setStatus(registry.get()?.status === 'up' ? 'draining' : 'up');
      return;
    }
    fleet[position] = fleet[fleet.length - 1] as ServiceRegistry;
    fleet.pop();
    // A leave (deregister) or a crash (the record expires; views drop it then), and a new instance in
    // its place: the fleet keeps its size, so any growth is a leak, not more instances.
    await registry.close({ deregister: kind === 1 });
    fleet.push(await join());
  };
  const pending = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const running = churn().catch(() => {});
    pending.add(running);
    void running.finally(() => pending.delete(running));
  }, 1000 / options.soakChurnPerSecond);
  const samples: MemorySample[] = [];
  const started = performance.now();
  const every = Math.max(5, Math.round(options.soakSeconds / 30));
  for (let elapsed = 0; elapsed <= options.soakSeconds; elapsed += every) {
    if (elapsed > 0) await sleep(every * 1000);
    const { heap, rss } = live();
    const cached = views.reduce(
      (total, view) => total + view.services().reduce((sum, name) => sum + view.instances(name).length, 0),
      0,
    );
    samples.push({
      seconds: (performance.now() - started) / 1000,
      heapMiB: heap / MiB,
      rssMiB: rss / MiB,
      live: fleet.length,
      cached,
    });
  }
  clearInterval(timer);
  await Promise.all(pending);
  await Promise.all(views.map((view) => view.close()));
  await runBounded(fleet.length, 200, (index) =>
    (fleet[index] as ServiceRegistry).close({ deregister: false }),
  );
  return { samples, churned, ttl, interval };
}
