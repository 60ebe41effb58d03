// Refresh throughput: 1,000 real ServiceRegistry objects calling update() (a routine refresh is one
// write of SET PXAT, ZADD XX CH and PTTL; refreshes sent in the same turn share one ZADD per service
// and one PTTL; a join, a change or due upkeep one EVALSHA) against plain `SET key value EX ttl` of
// the same values, on the same connection, with the same concurrency.

import { type CryptoBackend, gcmCodec, ServiceRegistry, webCryptoBackend } from '@service-registry/core';
import {
  indexKey,
  putCall,
  recordKey,
  scriptArguments,
  servicesKey,
  sha1Hex,
} from '@service-registry/redis-layout';
import type { RedisStore } from '@service-registry/store-redis';
import type { Redis } from 'ioredis';
import {
  collectGarbage,
  commandTimes,
  ENDPOINTS,
  median,
  progress,
  runBounded,
  SECRET,
  type Summary,
  sum,
  summarize,
  timesDelta,
} from './lib.js';

const FLEET_SERVICES = 10;
const TTL_SECONDS = 30;

export interface RefreshOptions {
  readonly client: Redis;
  readonly admin: Redis;
  readonly store: RedisStore;
  readonly rounds: number;
  /** Registries per fleet (one fleet per backend), each refreshed once per round; 1,000 in a full run. */
  readonly fleetSize: number;
  /** In-flight refreshes (the fleet's parallelism as the server sees it). */
  readonly concurrency: number;
}

export interface RefreshRow {
  readonly label: string;
  readonly kind: Kind;
  readonly concurrency: number;
  /** Operations per second, per round of one operation per registry. */
  readonly opsPerSecond: Summary;
  /**
   * Server µs per operation: every command the variant sends (the routine pipeline's three, the put
   * script's EVALSHA, or SET), from INFO commandstats; the median of per-round figures.
   */
  readonly serverUsPerOp: number;
  /** Commands the variant sent per operation, as the server counted them. */
  readonly callsPerOp: number;
  /** Scripts (EVALSHA, EVAL) per operation: joins, changes and due upkeep. */
  readonly scriptsPerOp: number;
  /**
   * Every command the server ran, per operation: calls and server µs (INFO commandstats). Commands a
   * script runs count here under their own names too.
   */
  readonly perCommand: ReadonlyMap<string, { readonly calls: number; readonly us: number }>;
}

/** registry: `update()`; store: `store.put()`; set: the baseline; floor: a script that only SETs. */
type Kind = 'registry' | 'store' | 'set' | 'floor';

// The cheapest script a refresh could be: the put script's keys and arguments, one `SET PX`, no index.
const FLOOR_SCRIPT = "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\nreturn 1\n";

export interface RefreshResult {
  readonly instances: number;
  readonly services: number;
  readonly valueBytes: { readonly min: number; readonly max: number; readonly mean: number };
  readonly rows: readonly RefreshRow[];
  /** Per round: registry ops/s ÷ SET ops/s at the same concurrency (node:crypto), keyed by concurrency. */
  readonly ratios: ReadonlyMap<number, Summary>;
}

interface Variant {
  readonly label: string;
  readonly kind: Kind;
  readonly concurrency: number;
  readonly commands: readonly string[];
  readonly run: () => Promise<void>;
  readonly samples: number[];
  readonly serverUs: number[];
  readonly calls: number[];
  readonly scripts: number[];
  readonly perCommand: Map<string, { calls: number; usec: number }>;
}

// What a registry's or store's refresh sends: the routine pipeline, or the put script. The few
// scripts' own SET and ZADD also count under those names: at about one script per service per ttl
// against thousands of routine refreshes a second, a double count well under 1 %.
const REFRESH_COMMANDS = ['set', 'zadd', 'pttl', 'evalsha', 'eval'];

const ref = (namespace: string, index: number, services = FLEET_SERVICES) => ({
  namespace,
  service: `svc-${index % services}`,
  instanceId: `i-${String(index).padStart(5, '0')}`,
});

async function startFleet(
  size: number,
  store: RedisStore,
  namespace: string,
  backend: CryptoBackend | undefined,
  services = FLEET_SERVICES,
): Promise<ServiceRegistry[]> {
  const registries = Array.from({ length: size }, (_, index) => {
    const { service } = ref(namespace, index, services);
    return new ServiceRegistry({
      store,
      // Without a codec the registry builds the default one: gcm on the default (node:crypto) backend.
      ...(backend === undefined ? { secret: SECRET } : { codec: gcmCodec(SECRET, { backend }) }),
      publicUrl: `https://${service}.example.com`,
      baseUrl: '/api/v1',
      namespace,
      ttl: TTL_SECONDS,
    });
  });
  await runBounded(size, 50, async (index) => {
    const { service, instanceId } = ref(namespace, index, services);
    await (registries[index] as ServiceRegistry).register(ENDPOINTS, {
      serviceName: service,
      instanceId,
      port: 8080,
      ipv4: `10.1.${index >> 8}.${index & 255}`,
      meta: { region: 'eu-west-1', version: '1.42.0', zone: 'abc'[index % 3] as string },
      refresh: false,
    });
  });
  return registries;
}

export async function benchRefresh(options: RefreshOptions): Promise<RefreshResult> {
  const { client, admin, store, rounds, concurrency, fleetSize } = options;
  progress(
    `refresh: registering ${fleetSize} registries (node:crypto), ${fleetSize} (Web Crypto) and ${fleetSize} of one instance per service`,
  );
  const nodeFleet = await startFleet(fleetSize, store, 'fleet', undefined);
  const webFleet = await startFleet(fleetSize, store, 'fleetweb', webCryptoBackend);
  // The same number of registries, each the only instance of its service: no two refreshes of a
  // batch share an index, so none shares a ZADD (a fleet of many services refreshing from one host).
  const spreadFleet = await startFleet(fleetSize, store, 'fleetspread', undefined, fleetSize);

  // The baseline writes exactly the values the registries wrote, to keys of its own.
  const values = (await client.mget(
    Array.from({ length: fleetSize }, (_, index) => recordKey(ref('fleet', index))),
  )) as (string | null)[];
  if (values.some((value) => value === null)) throw new Error('a fleet record is missing after register()');
  const setKeys = Array.from({ length: fleetSize }, (_, index) => `setbaseline:${index}`);
  const lengths = values.map((value) => (value as string).length);

  const variant = (
    label: string,
    kind: Kind,
    width: number,
    run: (index: number) => Promise<unknown>,
  ): Variant => ({
    label,
    kind,
    concurrency: width,
    commands: kind === 'set' ? ['set'] : kind === 'floor' ? ['evalsha', 'eval'] : REFRESH_COMMANDS,
    run: () => runBounded(fleetSize, width, run),
    samples: [],
    serverUs: [],
    calls: [],
    scripts: [],
    perCommand: new Map(),
  });
  const floorSha = sha1Hex(FLOOR_SCRIPT);
  await client.script('LOAD', FLOOR_SCRIPT);
  const set = (index: number) =>
    client.set(setKeys[index] as string, values[index] as string, 'EX', TTL_SECONDS);
  const variants: Variant[] = [
    variant(
      'registry.update() · node:crypto',
      'registry',
      concurrency,
      (i) => nodeFleet[i]?.update() as Promise<unknown>,
    ),
    variant('SET key value EX ttl', 'set', concurrency, set),
    // What any script costs: EVALSHA with the put script's keys and arguments, doing one SET.
    variant('floor: EVALSHA of a script that only SETs', 'floor', concurrency, (i) => {
      const call = putCall(ref('fleet', i), values[i] as string, TTL_SECONDS * 1000, { directory: true });
      return client.evalsha(floorSha, ...(scriptArguments(call) as [number]));
    }),
    // The store's share of a routine refresh: the value already encrypted, no registry.
    variant('store.put() · pre-encrypted value, routine', 'store', concurrency, (i) =>
      store.put(ref('fleet', i), values[i] as string, TTL_SECONDS * 1000, { changed: false }),
    ),
    variant(
      'registry.update() · Web Crypto',
      'registry',
      concurrency,
      (i) => webFleet[i]?.update() as Promise<unknown>,
    ),
    variant(
      `registry.update() · ${fleetSize.toLocaleString('en-US')} services of one instance`,
      'registry',
      concurrency,
      (i) => spreadFleet[i]?.update() as Promise<unknown>,
    ),
    variant(
      'registry.update() · node:crypto',
      'registry',
      1,
      (i) => nodeFleet[i]?.update() as Promise<unknown>,
    ),
    variant('SET key value EX ttl', 'set', 1, set),
  ];

  collectGarbage();
  progress(`refresh: ${rounds} rounds of ${fleetSize} operations per variant, interleaved`);
  for (const entry of variants) await entry.run(); // warm-up: JIT, script cache, connection
  for (let round = 0; round < rounds; round++) {
    // Rotate the order so no variant always runs right after another.
    for (let step = 0; step < variants.length; step++) {
      const entry = variants[(round + step) % variants.length] as Variant;
      const before = await commandTimes(admin);
      const started = performance.now();
      await entry.run();
      const elapsed = performance.now() - started;
      const after = await commandTimes(admin);
      const delta = timesDelta(before, after, entry.commands);
      for (const command of Object.keys(after)) {
        if (command === 'info') continue;
        const ran = timesDelta(before, after, [command]);
        if (ran.calls <= 0) continue;
        const total = entry.perCommand.get(command) ?? { calls: 0, usec: 0 };
        entry.perCommand.set(command, { calls: total.calls + ran.calls, usec: total.usec + ran.usec });
      }
      entry.samples.push(elapsed);
      entry.serverUs.push(delta.usec);
      entry.calls.push(delta.calls);
      entry.scripts.push(entry.kind === 'set' ? 0 : timesDelta(before, after, ['evalsha', 'eval']).calls);
    }
  }

  const rows = variants.map(
    (entry): RefreshRow => ({
      label: entry.label,
      kind: entry.kind,
      concurrency: entry.concurrency,
      opsPerSecond: summarize(entry.samples.map((ms) => (fleetSize * 1000) / ms)),
      // The median of per-round figures: a round whose server was preempted (a shared machine) does
      // not swamp the others, as it would in a sum.
      serverUsPerOp: median(entry.serverUs.map((usec) => usec / fleetSize)),
      callsPerOp: sum(entry.calls) / (fleetSize * entry.calls.length),
      scriptsPerOp: sum(entry.scripts) / (fleetSize * entry.scripts.length),
      perCommand: new Map(
        [...entry.perCommand].map(([command, total]) => [
          command,
          {
            calls: total.calls / (fleetSize * entry.calls.length),
            us: total.usec / (fleetSize * entry.calls.length),
          },
        ]),
      ),
    }),
  );
  const ratios = new Map<number, Summary>();
  for (const width of new Set(variants.map((entry) => entry.concurrency))) {
    const registry = variants.find(
      (entry) =>
        entry.concurrency === width && entry.kind === 'registry' && entry.label.includes('node:crypto'),
    ) as Variant;
    const baseline = variants.find((entry) => entry.concurrency === width && entry.kind === 'set') as Variant;
    // Paired by round: both ran within a second of each other, under the same background load.
    ratios.set(
      width,
      summarize(registry.samples.map((ms, round) => (baseline.samples[round] as number) / ms)),
    );
  }

  progress('refresh: cleaning up');
  await Promise.all([...nodeFleet, ...webFleet, ...spreadFleet].map((registry) => registry.close()));
  await client.unlink(...setKeys);
  for (const [namespace, services] of [
    ['fleet', FLEET_SERVICES],
    ['fleetweb', FLEET_SERVICES],
    ['fleetspread', fleetSize],
  ] as const) {
    const keys = [servicesKey(namespace)];
    for (let service = 0; service < services; service++) keys.push(indexKey(namespace, `svc-${service}`));
    await client.unlink(...keys);
  }
  return {
    instances: fleetSize,
    services: FLEET_SERVICES,
    valueBytes: { min: Math.min(...lengths), max: Math.max(...lengths), mean: sum(lengths) / lengths.length },
    rows,
    ratios,
  };
}
