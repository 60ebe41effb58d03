// `pnpm --filter @service-registry/store-upstash bench:idle [--minutes <n>] [--instances <n>]`
// Measures what one idle discovery view costs on Upstash: HTTP requests per minute at the default poll
// (ttl 30 s, interval 10 s, so a poll every 10 s), counted at the Upstash-compatible test server with
// the real @upstash/redis client. The instances write through a second test server over the same
// Redis, so their refreshes are not counted; nothing changes during the measured period.
import { parseArgs } from 'node:util';
import { createDiscovery, ServiceRegistry } from '@service-registry/core';
import { deleteNamespace, findRedis, randomNamespace } from '@service-registry/redis-testing';
import { createUpstashTestServer } from '@service-registry/upstash-test-server';
import { Redis } from 'ioredis';
import { upstashStore } from '../src/index.js';
import { upstashClient } from './support.js';

const { values } = parseArgs({
  options: { minutes: { type: 'string' }, instances: { type: 'string' } },
  allowPositionals: true,
});
const minutes = Number(values.minutes ?? 3);
const count = Number(values.instances ?? 10);
if (!(minutes > 0) || !(Number.isInteger(count) && count >= 1)) {
  console.error('usage: idle-view-bench.ts [--minutes <n > 0>] [--instances <n ≥ 1>]');
  process.exit(2);
}

const found = await findRedis();
if (found === undefined) throw new Error('no Redis: set REDIS_URL or install redis-server');
const writers = await createUpstashTestServer({ redis: found.url });
const reader = await createUpstashTestServer({ redis: found.url });
const namespace = randomNamespace('idle');
const secret = 'idle-view-bench-secret-0123456789';
const registries: ServiceRegistry[] = [];
try {
  const writeStore = upstashStore({ client: upstashClient(writers) });
  for (let index = 0; index < count; index++) {
    const registry = new ServiceRegistry({
      store: writeStore,
      secret,
      namespace,
      publicUrl: `http://api-${index}.test`,
    });
    registries.push(registry);
    await registry.register(['users'], {
      serviceName: `svc-${index % 5}`,
      instanceId: `i-${index}`,
      port: 80,
    });
  }
  // Defaults: ttl 30 s, interval 10 s, pollInterval = interval.
  const view = createDiscovery({ store: upstashStore({ client: upstashClient(reader) }), secret, namespace });
  await view.ready;
  // One ttl of warm-up would be 30 s; the view's schedule settles after its first probe.
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  reader.resetCounts();
  const before = view.stats();
  const started = Date.now();
  await new Promise((resolve) => setTimeout(resolve, minutes * 60_000));
  const elapsedMinutes = (Date.now() - started) / 60_000;
  const after = view.stats();
  const byCommand: Record<string, number> = {};
  for (const command of reader.requests.commands)
    byCommand[command.name] = (byCommand[command.name] ?? 0) + 1;
  const result = {
    minutes: Number(elapsedMinutes.toFixed(2)),
    instances: count,
    services: Math.min(count, 5),
    requests: reader.requests.total,
    requestsPerMinute: Number((reader.requests.total / elapsedMinutes).toFixed(2)),
    byPath: reader.requests.byPath,
    redisCommands: byCommand,
    view: {
      counterReads: after.counterReads - before.counterReads,
      probes: after.probes - before.probes,
      lists: after.lists - before.lists,
    },
    held: view.snapshot().instances.length,
  };
  console.log(JSON.stringify(result, null, 2));
  await view.close();
} finally {
  await Promise.allSettled(registries.map((registry) => registry.close()));
  const cleaner = new Redis(found.url);
  await deleteNamespace(cleaner, namespace);
  cleaner.disconnect();
  await writers.close();
  await reader.close();
  await found.stop();
}
