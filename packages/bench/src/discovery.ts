// `pnpm --filter @service-registry/store-redis bench:discovery`: the discovery view's figures, printed
// as a markdown section for BENCHMARKS.md (copied in by hand; this does not rewrite the file).
//
//   DISCOVERY_SCALE=10 (steady state at ttl 30 s / interval 10 s; default 1: ttl 3 / interval 1, scaled)
//
// Cached reads run on a memory store (they never touch the store). Propagation and commands/s run on
// a redis-server this process starts: writers and the view use separate connections in this process.

import { createDiscovery, type DiscoveryView, ServiceRegistry } from '@service-registry/core';
import { commandStats, startRedisServer } from '@service-registry/redis-testing';
import { memoryStore } from '@service-registry/store-memory';
import { Redis } from 'ioredis';
import { redisStore } from '../src/index.js';

const SECRET = 'bench-secret-0123456789abcdef';
const scale = Number(process.env.DISCOVERY_SCALE ?? '1');
const median = (values: number[]): number => {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)] as number;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
  const joins: number[] = [];
  const leaves: number[] = [];
  for (let round = 0; round < 20; round++) {
    const registry = new ServiceRegistry({
      store: writerStore,
      secret: SECRET,
      namespace,
      publicUrl: 'http://x.test',
      ttl: 3,
      interval: 1,
    });
    await registry.register(['users'], { serviceName: 'api', instanceId: `j${round}`, port: 80 });
    joins.push(await seen(`j${round}`, true));
    await registry.deregister();
    leaves.push(await seen(`j${round}`, false));
    await registry.close();
  }
  // A crash: the record stays until its expiry (ttl 3 s); the view drops it then, without a read.
  const crashed = new ServiceRegistry({
    store: writerStore,
    secret: SECRET,
    namespace,
    publicUrl: 'http://x.test',
    ttl: 3,
    interval: 1,
  });
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
const CLIENT_COMMANDS = ['evalsha', 'eval', 'sort', 'mget', 'scan', 'subscribe', 'unsubscribe', 'ping'];

async function steadyState(url: string, instances: number): Promise<{ client: number; inside: number }> {
  const ttl = 3 * scale;
  const interval = 1 * scale;
  const namespace = `steady-${Date.now().toString(36)}`;
  const stores: ReturnType<typeof redisStore>[] = [];
  const registries: ServiceRegistry[] = [];
  const views: DiscoveryView[] = [];
  for (let index = 0; index < instances; index++) {
    const store = redisStore({ url });
    stores.push(store);
    const registry = new ServiceRegistry({
      store,
      secret: SECRET,
      namespace,
      publicUrl: `http://s${index}.test`,
      ttl,
      interval,
    });
    await registry.register(['users'], { serviceName: `svc${index % 5}`, instanceId: `s${index}`, port: 80 });
    registries.push(registry);
    views.push(createDiscovery({ store, secret: SECRET, namespace, ttl, interval }));
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
  const seconds = windowMs / 1000;
  return { client: client / seconds, inside: inside / seconds };
}

const server = await startRedisServer();
try {
  const filler = new Redis(server.url);
  for (let batch = 0; batch < 100; batch++) {
    const pipeline = filler.pipeline();
    for (let index = 0; index < 1000; index++) pipeline.set(`unrelated:${batch}:${index}`, 'x');
    await pipeline.exec();
  }
  filler.disconnect();
  const reads10 = await cachedReads(10);
  const reads1000 = await cachedReads(1000);
  const moves = await propagation(server.url);
  const steady: Record<number, { client: number; inside: number }> = {};
  for (const size of (process.env.DISCOVERY_SIZES ?? '50,250').split(',').map(Number))
    steady[size] = await steadyState(server.url, size);
  const lines = [
    '## Discovery view',
    '',
    `Measured by \`packages/store-redis/bench/discovery.ts\` on ${new Date().toISOString().slice(0, 10)}, 2 shared cores (noisy).`,
    '',
    '| cached read (median ns per call) | 10 instances | 1,000 instances |',
    '| --- | ---: | ---: |',
    ...Object.keys(reads10).map(
      (name) =>
        `| \`${name}\` | ${(reads10[name] as number).toFixed(0)} | ${(reads1000[name] as number).toFixed(0)} |`,
    ),
    '',
    `Redis, 100,000 unrelated keys: a new instance in the view ${moves.join.toFixed(1)} ms after \`register()\` resolved, ` +
      `a deregistered one gone after ${moves.leave.toFixed(1)} ms (medians of 20; writer and view on separate connections of one process); ` +
      `a crashed one (closed without deregistering, ttl 3 s) left ${moves.crash} ms after its record's expiry.`,
    '',
    `| steady state, 5 services, every instance also holding a view of all (ttl ${3 * scale} s, interval ${scale} s) | commands/s sent | scaled to ttl 30 / interval 10 | calls inside scripts/s |`,
    '| --- | ---: | ---: | ---: |',
    ...Object.entries(steady).map(
      ([size, rate]) =>
        `| ${size} instances | ${rate.client.toFixed(1)} | ${((rate.client * scale) / 10).toFixed(1)} | ${rate.inside.toFixed(0)} |`,
    ),
    '| moleculer 0.15 Redis discoverer, 50 nodes (quoted from issue 9, not run here) | 4,905 | | |',
  ];
  console.log(lines.join('\n'));
} finally {
  await server.stop();
}
// Closed stores leave ioredis reconnect timers behind for a moment; the figures are out.
process.exit(0);
