// The discovery view's part (`pnpm bench --only discovery`): cached reads, propagation through Redis,
// a crash, and the steady-state commands/s of a fleet where every instance also holds a view.
//
// Cached reads run on a memory store (they never touch the store). Propagation and commands/s run on
// the bench's redis-server: writers and the view use separate connections in this process.

import { createDiscovery, type DiscoveryView, ServiceRegistry } from '@service-registry/core';
import { commandStats } from '@service-registry/redis-testing';
import { memoryStore } from '@service-registry/store-memory';
import { redisStore } from '@service-registry/store-redis';
import { Redis } from 'ioredis';
import { median, progress, runBounded, SECRET } from './lib.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sizes of the discovery part. */
export interface DiscoveryOptions {
  /** The bench's redis-server. */
  readonly url: string;
  /** Fleet sizes of the steady-state measurement. Full run: 50 and 250 (1,000: see the report's method). */
  readonly sizes: readonly number[];
  /** ttl 3 s × scale, interval 1 s × scale in the steady state. Full run: 1 (scaled to ttl 30 / interval 10). */
  readonly scale: number;
}

export interface DiscoveryResult {
  readonly reads10: Record<string, number>;
  readonly reads1000: Record<string, number>;
  readonly moves: { join: number; leave: number; crash: number };
  readonly steady: Record<number, { client: number; inside: number }>;
  readonly scale: number;
}

async function cachedReads(size: number): Promise<Record<string, number>> {
  const store = memoryStore();
  const registries: ServiceRegistry[] = [];
  for (let index = 0; index < size; index++) {
    const registry = new ServiceRegistry({ store, secret: SECRET, publicUrl: `http://i${index}.test` });
    await registry.register([`r${index % 50}`], {
      serviceName: 'api',
      instanceId: `i${index}`,
      port: 80,
      refresh: false,
    });
    registries.push(registry);
  }
  const view = createDiscovery({ store, secret: SECRET });
  await view.ready;
  const time = (run: () => unknown): number => {
    const samples: number[] = [];
    for (let round = 0; round < 31; round++) {
      const started = process.hrtime.bigint();
      for (let call = 0; call < 10_000; call++) run();
      samples.push(Number(process.hrtime.bigint() - started) / 10_000);
    }
    return median(samples);
  };
  const result = {
    instances: time(() => view.instances('api')),
    pick: time(() => view.pick('api')),
    'pick (hash)': time(() => view.pick('api', { strategy: 'hash', key: 'user-42' })),
    'pick (least-outstanding)': time(() => view.pick('api', { strategy: 'least-outstanding' })),
    resolve: time(() => view.resolve('r7')),
  };
  await view.close();
  return result;
}

async function propagation(url: string): Promise<{ join: number; leave: number; crash: number }> {
  const writerStore = redisStore({ url });
  const readerStore = redisStore({ url });
  const namespace = `bench-${Date.now().toString(36)}`;
  const view = createDiscovery({
    store: readerStore,
    secret: SECRET,
    namespace,
    services: ['api'],
    ttl: 3,
    interval: 1,
  });
  await view.ready;
  const seen = (id: string, present: boolean): Promise<number> =>
    new Promise((resolve) => {
      const started = performance.now();
      const check = () => {
        if (view.instances('api').some((instance) => instance.id === id) === present)
          resolve(performance.now() - started);
        else setTimeout(check, 0);
      };
      check();
    });
  const writer = () =>
    new ServiceRegistry({
      store: writerStore,
      secret: SECRET,
      namespace,
      publicUrl: 'http://x.test',
      ttl: 3,
      interval: 1,
    });
  const joins: number[] = [];
  const leaves: number[] = [];
  for (let round = 0; round < 20; round++) {
    const registry = writer();
    await registry.register(['users'], { serviceName: 'api', instanceId: `j${round}`, port: 80 });
    joins.push(await seen(`j${round}`, true));
    await registry.deregister();
    leaves.push(await seen(`j${round}`, false));
    await registry.close();
  }
  // A crash: the record stays until its expiry (ttl 3 s); the view drops it then, without a read.
  const crashed = writer();
  await crashed.register(['users'], { serviceName: 'api', instanceId: 'crash', port: 80 });
  await seen('crash', true);
  const expiresAt = view.instances('api')[0]?.expiresAt as number;
  await crashed.close({ deregister: false });
  await seen('crash', false);
  const crash = Date.now() - expiresAt;
  await view.close();
  await writerStore.close();
  await readerStore.close();
  return { join: median(joins), leave: median(leaves), crash };
}

// What clients send; INFO commandstats also counts the calls scripts make inside Redis.
const CLIENT_COMMANDS = [
  'evalsha',
  'evalsha_ro',
  'eval',
  'eval_ro',
  'sort',
  'sort_ro',
  'mget',
  'scan',
  'subscribe',
  'unsubscribe',
  'ping',
];

async function steadyState(
  url: string,
  instances: number,
  scale: number,
): Promise<{ client: number; inside: number }> {
  const ttl = 3 * scale;
  const interval = 1 * scale;
  const namespace = `steady-${Date.now().toString(36)}`;
  // A few shared command connections instead of one per instance (1,000 took over 10 minutes to set
  // up); each view still gets its own store object, so its own subscriber connection, as a process would.
  const clients = Array.from({ length: Math.min(8, instances) }, () => new Redis(url));
  const connection = (index: number) => clients[index % clients.length] as Redis;
  const stores: ReturnType<typeof redisStore>[] = new Array(instances * 2);
  const registries: ServiceRegistry[] = new Array(instances);
  const views: DiscoveryView[] = new Array(instances);
  await runBounded(instances, 50, async (index) => {
    const writer = redisStore({ client: connection(index) });
    const reader = redisStore({ client: connection(index) });
    stores[2 * index] = writer;
    stores[2 * index + 1] = reader;
    const registry = new ServiceRegistry({
      store: writer,
      secret: SECRET,
      namespace,
      publicUrl: `http://s${index}.test`,
      ttl,
      interval,
    });
    await registry.register(['users'], { serviceName: `svc${index % 5}`, instanceId: `s${index}`, port: 80 });
    registries[index] = registry;
  });
  // Views open once every instance is written: opened in between, each join would be re-read by every
  // view already open (a quadratic setup, not the steady state measured here).
  for (const [index, store] of stores.entries()) {
    if (index % 2 === 1)
      views[(index - 1) / 2] = createDiscovery({ store, secret: SECRET, namespace, ttl, interval });
  }
  await Promise.all(views.map((view) => view.ready));
  await sleep(ttl * 1000);
  const admin = new Redis(url);
  const before = await commandStats(admin);
  const windowMs = ttl * 2000;
  await sleep(windowMs);
  const after = await commandStats(admin);
  admin.disconnect();
  let client = 0;
  let inside = 0;
  for (const [command, calls] of Object.entries(after)) {
    const delta = calls - (before[command] ?? 0) - (command === 'info' ? 1 : 0);
    if (CLIENT_COMMANDS.includes(command)) client += delta;
    else inside += delta;
    if (process.env.DISCOVERY_DEBUG && delta > 0) console.error(instances, command, delta);
  }
  await Promise.all(views.map((view) => view.close()));
  await Promise.all(registries.map((registry) => registry.close()));
  await Promise.all(stores.map((store) => store.close()));
  for (const shared of clients) shared.disconnect();
  const seconds = windowMs / 1000;
  return { client: client / seconds, inside: inside / seconds };
}

export async function benchDiscovery(options: DiscoveryOptions): Promise<DiscoveryResult> {
  const { url, scale } = options;
  progress('discovery: cached reads at 10 and 1,000 instances');
  const reads10 = await cachedReads(10);
  const reads1000 = await cachedReads(1000);
  progress('discovery: propagation (20 joins and leaves, one crash)');
  const moves = await propagation(url);
  const steady: Record<number, { client: number; inside: number }> = {};
  for (const size of options.sizes) {
    progress(`discovery: steady state, ${size} instances, ttl ${3 * scale} s`);
    steady[size] = await steadyState(url, size, scale);
  }
  return { reads10, reads1000, moves, steady, scale };
}
