// find(service) latency at several instance counts, against the seed's algorithm (SCAN MATCH, one GET
// per key, decrypt each) and the floor (one MGET of the same record keys, no decryption).

import {
  apicrudCodec,
  type CryptoBackend,
  type ExpiryCheck,
  gcmCodec,
  recordKey as plainRecordKey,
  type RecordCodec,
  ServiceRegistry,
  webCryptoBackend,
} from '@service-registry/core';
import { indexKey, recordKey, recordKeyPrefix } from '@service-registry/redis-layout';
import type { RedisStore } from '@service-registry/store-redis';
import type { Redis } from 'ioredis';
import { type FindWriters, instanceId, startFindWriters } from './find-writers.js';
import {
  collectGarbage,
  commandTimes,
  progress,
  SECRET,
  type Summary,
  sum,
  summarize,
  timesDelta,
} from './lib.js';

export const NAMESPACE = 'bench';
export const SERVICE = 'orders';
/** The seed's records: apicrud's own layout `reg:<service>:<id>` and its AES-CBC format. */
const SEED_PREFIX = 'reg';
export const TTL_SECONDS = 3600;
/** Share of records rewritten between two steady-state finds: a find per second, a refresh every 10 s. */
export const STEADY_SHARE = 0.1;

const fmtPercent = (share: number) => `${Math.round(share * 100)} %`;

export interface FindOptions {
  /** The Redis of `client`, for the writers' process. */
  readonly url: string;
  readonly client: Redis;
  readonly admin: Redis;
  readonly store: RedisStore;
  readonly nodeBackend: CryptoBackend;
  readonly sizes: readonly number[];
  /** Rounds of the fast variants, per size. */
  readonly rounds: (size: number) => number;
  /** Rounds of the seed's algorithm (seconds per run at 10,000 records). */
  readonly seedRounds: number;
}

export type VariantKey =
  | 'warm-node'
  | 'steady-node'
  | 'refreshed-node'
  | 'refreshed-checked-node'
  | 'cold-node'
  | 'cold-snapshot-node'
  | 'warm-web'
  | 'cold-web'
  | 'cold-snapshot-web'
  | 'list'
  | 'core-warm'
  | 'sort'
  | 'mget'
  | 'seed'
  | 'seed-count';

export interface FindRow {
  readonly key: VariantKey;
  readonly label: string;
  readonly ms: Summary;
  /** Server-side ms per run (INFO commandstats usec of the commands the variant sends). */
  readonly serverMs: number;
  /** Commands the client sent per run, as the server counted them. */
  readonly commandsPerRun: number;
}

export interface FindSize {
  readonly size: number;
  /** Keys in the database while measuring (unrelated keys, both record sets, index). */
  readonly dbsize: number;
  readonly rows: readonly FindRow[];
}

export interface FindResult {
  readonly sizes: readonly FindSize[];
  /** A stored value and its plaintext, for the codec micro-bench. */
  readonly sample: { readonly value: string; readonly plaintext: string; readonly key: string };
  readonly seedScanCount: number;
}

interface Variant {
  readonly key: VariantKey;
  readonly label: string;
  readonly rounds: number;
  readonly slow: boolean;
  readonly commands: readonly string[];
  /** Untimed work before each run, outside the server-time window too. */
  readonly prepare: (() => Promise<unknown>) | undefined;
  /** Runs once; returns elapsed ms and how many records it saw. */
  readonly run: () => Promise<{ ms: number; count: number }>;
  readonly samples: number[];
  readonly serverUs: number[];
  readonly calls: number[];
}

const nativeRef = (index: number) => ({
  namespace: NAMESPACE,
  service: SERVICE,
  instanceId: instanceId(index),
});

async function timed<T>(action: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const started = performance.now();
  const result = await action();
  return { ms: performance.now() - started, result };
}

/**
 * What apicrud's `find` does: `SCAN MATCH` through the whole keyspace, one `GET` per matching key,
 * decrypt each (AES-CBC) and parse its JSON, one after another.
 */
async function seedFind(client: Redis, codec: RecordCodec, count: number | undefined): Promise<number> {
  const pattern = `${SEED_PREFIX}:${SERVICE}:*`;
  let cursor = '0';
  let found = 0;
  do {
    const [next, keys] =
      count === undefined
        ? await client.scan(cursor, 'MATCH', pattern)
        : await client.scan(cursor, 'MATCH', pattern, 'COUNT', count);
    cursor = next;
    for (const key of keys) {
      const raw = await client.get(key);
      if (raw === null) continue;
      JSON.parse(await codec.decode(raw, key));
      found++;
    }
  } while (cursor !== '0');
  return found;
}

/**
 * Registers instances [from, to) through real registries in the writers' process (find-writers.ts),
 * and writes the seed-format copy of each.
 */
async function grow(
  options: FindOptions,
  from: number,
  to: number,
  seedCodec: RecordCodec,
  writers: FindWriters,
): Promise<void> {
  const { client, nodeBackend } = options;
  await writers.grow(from, to);
  // The seed's copy holds the same plaintext (same sizes), in apicrud's format and key layout.
  const nativeCodec = gcmCodec(SECRET, { backend: nodeBackend });
  for (let first = from; first < to; first += 1000) {
    const indexes = Array.from({ length: Math.min(1000, to - first) }, (_, offset) => first + offset);
    const values = (await client.mget(indexes.map((index) => recordKey(nativeRef(index))))) as (
      | string
      | null
    )[];
    const pipeline = client.pipeline();
    for (const [position, index] of indexes.entries()) {
      const value = values[position];
      if (value == null) throw new Error(`record ${index} is missing after register()`);
      const plaintext = await nativeCodec.decode(value, plainRecordKey(nativeRef(index)));
      const seedKey = `${SEED_PREFIX}:${SERVICE}:${instanceId(index)}`;
      pipeline.set(seedKey, await seedCodec.encode(plaintext, seedKey), 'EX', TTL_SECONDS);
    }
    await pipeline.exec();
  }
}

function finder(
  store: RedisStore,
  backend: CryptoBackend,
  expiryCheck: ExpiryCheck = 'halfway',
  snapshots = false,
): ServiceRegistry {
  // Snapshots only where a variant asks: the others measure what a reader pays record by record.
  return new ServiceRegistry({
    store,
    codec: gcmCodec(SECRET, { backend }),
    namespace: NAMESPACE,
    expiryCheck,
    snapshots,
  });
}

/** Spreads `rounds` runs evenly over `total` rounds. */
const runsIn = (round: number, rounds: number, total: number) =>
  Math.floor(((round + 1) * rounds) / total) > Math.floor((round * rounds) / total);

export async function benchFind(options: FindOptions): Promise<FindResult> {
  const { client, admin, store, nodeBackend, sizes, seedRounds } = options;
  const seedCodec = apicrudCodec(SECRET, { backend: nodeBackend });
  const results: FindSize[] = [];
  const writers = startFindWriters({
    url: options.url,
    namespace: NAMESPACE,
    service: SERVICE,
    ttlSeconds: TTL_SECONDS,
  });
  const seedScanCount = 1000;
  let registered = 0;
  try {
    for (const size of sizes) {
      progress(`find: growing ${SERVICE} to ${size.toLocaleString('en-US')} instances`);
      await grow(options, registered, size, seedCodec, writers);
      registered = size;
      const keys = Array.from({ length: size }, (_, index) => recordKey(nativeRef(index)));
      const warmNode = finder(store, nodeBackend);
      const warmWeb = finder(store, webCryptoBackend);
      const steadyNode = finder(store, nodeBackend);
      const refreshedNode = finder(store, nodeBackend);
      const checkedNode = finder(store, nodeBackend, 'every-change');
      // What a fleet refreshing every interval does between two finds: routine refreshes (content
      // unchanged, a new expiry) by the records' own registries, the next `count` of them in turn.
      let refreshCursor = 0;
      const refreshSome = async (count: number) => {
        const first = refreshCursor;
        refreshCursor = (refreshCursor + count) % size;
        // In the writers' own process, as in a fleet: none of their work or garbage lands on the reader.
        await writers.refresh(first, count);
      };
      // The core's own share: the same records, handed over by a store that does no I/O.
      const records = await store.list(NAMESPACE, SERVICE);
      const memoryStore = {
        name: 'in-memory snapshot',
        capabilities: { watch: false, nativeExpiry: true },
        put: async () => {},
        delete: async () => {},
        list: async () => records,
        close: async () => {},
      };
      const coreOnly = new ServiceRegistry({
        store: memoryStore,
        codec: gcmCodec(SECRET, { backend: nodeBackend }),
        namespace: NAMESPACE,
      });
      const sortPattern = `${recordKeyPrefix(NAMESPACE, SERVICE)}*`;
      const rounds = options.rounds(size);

      const variant = (
        key: VariantKey,
        label: string,
        commands: readonly string[],
        run: () => Promise<{ ms: number; count: number }>,
        { slow = false, prepare }: { slow?: boolean; prepare?: () => Promise<unknown> } = {},
      ): Variant => ({
        key,
        label,
        rounds: slow ? seedRounds : rounds,
        slow,
        commands,
        prepare,
        run,
        samples: [],
        serverUs: [],
        calls: [],
      });
      const warm = (registry: ServiceRegistry) => async () => {
        const { ms, result } = await timed(() => registry.find(SERVICE));
        return { ms, count: result.instances.length };
      };
      const cold =
        (backend: CryptoBackend, snapshots = false) =>
        async () => {
          // A fresh registry: empty decrypt cache, keys derived on first use.
          const registry = finder(store, backend, 'halfway', snapshots);
          const { ms, result } = await timed(() => registry.find(SERVICE));
          // Untimed: a snapshot write this find scheduled (none when the snapshot served it).
          await registry.close();
          return { ms, count: result.instances.length };
        };
      // Before each snapshot run: a reader that finds the service's snapshot stale (or none) writes one,
      // as the first cold reader after a change does in a fleet.
      const freshSnapshot = async () => {
        const registry = finder(store, nodeBackend, 'halfway', true);
        await registry.find(SERVICE);
        await registry.close();
      };
      // find(service) on a single Redis is one SORT_RO … GET; the list script (EVALSHA_RO) runs only to
      // prune a stale index. The writing forms stay counted for a store that sends them.
      const scripts = ['sort_ro', 'sort', 'evalsha_ro', 'evalsha', 'eval_ro', 'eval'];
      // The snapshot's GET follows the listing (only a service of 64 or more records gets one).
      const snapshotCommands = [...scripts, 'get'];
      const variants: Variant[] = [
        // Warm: nothing changed since this registry's last find (an untimed find first catches up with the
        // records the steady variant rewrote).
        variant('warm-node', 'find() warm · node:crypto', scripts, warm(warmNode), {
          prepare: () => warmNode.find(SERVICE),
        }),
        variant(
          'steady-node',
          `find() steady · node:crypto (${fmtPercent(STEADY_SHARE)} of records refreshed since the last find)`,
          scripts,
          warm(steadyNode),
          { prepare: () => refreshSome(Math.max(1, Math.round(size * STEADY_SHARE))) },
        ),
        variant(
          'refreshed-node',
          'find() after every record had one routine refresh · node:crypto',
          scripts,
          warm(refreshedNode),
          { prepare: () => refreshSome(size) },
        ),
        // What the default reader pays once per record per half-lifetime (its MAC check), and this one
        // on every find after a refresh.
        variant(
          'refreshed-checked-node',
          "find() after every record had one routine refresh, every MAC checked (expiryCheck 'every-change') · node:crypto",
          scripts,
          warm(checkedNode),
          { prepare: () => refreshSome(size) },
        ),
        variant('cold-node', 'find() cold, no snapshot · node:crypto', scripts, cold(nodeBackend)),
        variant(
          'cold-snapshot-node',
          'find() cold, with the service snapshot · node:crypto',
          snapshotCommands,
          cold(nodeBackend, true),
          { prepare: freshSnapshot },
        ),
        variant('warm-web', 'find() warm · Web Crypto', scripts, warm(warmWeb), {
          prepare: () => warmWeb.find(SERVICE),
        }),
        variant('cold-web', 'find() cold, no snapshot · Web Crypto', scripts, cold(webCryptoBackend)),
        variant(
          'cold-snapshot-web',
          'find() cold, with the service snapshot · Web Crypto',
          snapshotCommands,
          cold(webCryptoBackend, true),
          { prepare: freshSnapshot },
        ),
        variant('list', 'store.list() alone (SORT_RO … GET + reply, no decrypt)', scripts, async () => {
          const { ms, result } = await timed(() => store.list(NAMESPACE, SERVICE));
          return { ms, count: result.length };
        }),
        variant(
          'core-warm',
          'core alone: warm find() over the records already in memory',
          [],
          warm(coreOnly),
        ),
        variant(
          'sort',
          'reference: SORT_RO index BY nosort GET # GET <record pattern>, no Lua',
          ['sort_ro'],
          async () => {
            const { ms, result } = await timed(
              () =>
                client.call(
                  'SORT_RO',
                  indexKey(NAMESPACE, SERVICE),
                  'BY',
                  'nosort',
                  'GET',
                  '#',
                  'GET',
                  sortPattern,
                ) as Promise<unknown[]>,
            );
            let count = 0;
            for (let index = 1; index < result.length; index += 2) if (result[index] !== null) count++;
            return { ms, count };
          },
        ),
        variant('mget', 'floor: one MGET, no decrypt', ['mget'], async () => {
          const { ms, result } = await timed(() => client.mget(keys));
          return { ms, count: result.filter((value) => value !== null).length };
        }),
        variant(
          'seed',
          'seed: SCAN MATCH (COUNT default) + GET each + decrypt',
          ['scan', 'get'],
          async () => {
            const { ms, result } = await timed(() => seedFind(client, seedCodec, undefined));
            return { ms, count: result };
          },
          { slow: true },
        ),
        variant(
          'seed-count',
          `seed with SCAN COUNT ${seedScanCount}`,
          ['scan', 'get'],
          async () => {
            const { ms, result } = await timed(() => seedFind(client, seedCodec, seedScanCount));
            return { ms, count: result };
          },
          { slow: true },
        ),
      ];

      // Warm-up (not recorded): loads the list script, fills the warm registries' caches, JIT.
      for (const entry of variants) {
        if (entry.slow) continue;
        await entry.prepare?.();
        const { count } = await entry.run();
        if (count !== size) throw new Error(`${entry.label} saw ${count} records, expected ${size}`);
      }
      const total = Math.max(rounds, seedRounds);
      collectGarbage();
      progress(
        `find: ${size.toLocaleString('en-US')} instances, ${rounds} rounds (seed: ${seedRounds}), interleaved`,
      );
      for (let round = 0; round < total; round++) {
        for (let step = 0; step < variants.length; step++) {
          const entry = variants[(round + step) % variants.length] as Variant;
          if (!runsIn(round, entry.rounds, total)) continue;
          await entry.prepare?.();
          const before = await commandTimes(admin);
          const { ms, count } = await entry.run();
          const delta = timesDelta(before, await commandTimes(admin), entry.commands);
          if (count !== size) throw new Error(`${entry.label} saw ${count} records, expected ${size}`);
          entry.samples.push(ms);
          entry.serverUs.push(delta.usec);
          entry.calls.push(delta.calls);
        }
      }
      await Promise.all(
        [warmNode, warmWeb, steadyNode, refreshedNode, checkedNode, coreOnly].map((registry) =>
          registry.close(),
        ),
      );
      results.push({
        size,
        dbsize: await admin.dbsize(),
        rows: variants.map((entry) => ({
          key: entry.key,
          label: entry.label,
          ms: summarize(entry.samples),
          serverMs: sum(entry.serverUs) / entry.serverUs.length / 1000,
          commandsPerRun: sum(entry.calls) / entry.calls.length,
        })),
      });
    }
  } finally {
    await writers.close();
  }
  const sampleKey = recordKey(nativeRef(0));
  const value = (await client.get(sampleKey)) as string;
  const key = plainRecordKey(nativeRef(0));
  const plaintext = await gcmCodec(SECRET, { backend: nodeBackend }).decode(value, key);
  return { sizes: results, sample: { value, plaintext, key }, seedScanCount };
}
