// The Keyv store's part (`pnpm bench --only keyv`): find(service) on SQLite (a file) and PostgreSQL
// (DATABASE_URL or 127.0.0.1:5432, a schema of its own, dropped after), against the same adapter's raw
// multi-get of those rows; and SQL statements per operation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvPostgres from '@keyv/postgres';
import KeyvSqlite from '@keyv/sqlite';
import { ServiceRegistry } from '@service-registry/core';
import { findPostgres } from '@service-registry/redis-testing';
import { keyvStore } from '@service-registry/store-keyv';
import Keyv from 'keyv';
import { median, progress, SECRET, timeRuns } from './lib.js';

const NAMESPACE = 'bench';

interface Counted {
  adapter: { query: (...args: never[]) => Promise<unknown>; getMany(keys: string[]): Promise<unknown[]> };
  statements: number;
}

/** Counts every SQL statement the adapter sends (its own calls and the store's). */
function countStatements(adapter: Counted['adapter']): Counted {
  const counted: Counted = { adapter, statements: 0 };
  const original = adapter.query.bind(adapter);
  adapter.query = ((...args: never[]) => {
    counted.statements += 1;
    return original(...args);
  }) as Counted['adapter']['query'];
  return counted;
}

/** Sizes of the Keyv part: 1,000 instances and 30 runs in a full run. */
export interface KeyvOptions {
  readonly instances: number;
  readonly runs: number;
}

export type KeyvRow = Awaited<ReturnType<typeof measure>>;

export interface KeyvResult {
  readonly rows: readonly KeyvRow[];
  readonly instances: number;
  readonly runs: number;
  readonly seconds: number;
  /** Why PostgreSQL is missing from the rows, if it is. */
  readonly postgresMissing: string | undefined;
}

async function measure(label: string, keyv: Keyv, { instances, runs }: KeyvOptions) {
  progress(`keyv: ${label}, ${instances} instances`);
  const time = async (action: () => Promise<unknown>) => median(await timeRuns(action, runs));
  const counted = countStatements(keyv.store as Counted['adapter']);
  const store = keyvStore({ keyv, timeoutMs: 30_000 });
  const make = () =>
    new ServiceRegistry({
      store,
      secret: SECRET,
      publicUrl: 'https://bench.example.com',
      namespace: NAMESPACE,
      // Long enough that no record expires while a loaded machine seeds the other 999.
      ttl: 3600,
      interval: 600,
    });
  const ids = Array.from({ length: instances }, (_, index) => `i-${String(index).padStart(4, '0')}`);
  const registries: ServiceRegistry[] = [];
  for (let start = 0; start < instances; start += 50) {
    const batch = ids.slice(start, start + 50).map(() => make());
    await Promise.all(
      batch.map((registry, index) =>
        registry.register(['orders'], {
          serviceName: 'orders',
          instanceId: ids[start + index] as string,
          port: 80,
          refresh: false,
        }),
      ),
    );
    registries.push(...batch);
  }
  // Another service of the same size in the same table: a listing by prefix must not pay for it.
  for (let start = 0; start < instances; start += 50) {
    await Promise.all(
      ids.slice(start, start + 50).map((id) =>
        store.put({ namespace: NAMESPACE, service: 'other', instanceId: id }, 'x'.repeat(400), 600_000, {
          changed: false,
        }),
      ),
    );
  }
  const reader = make();
  const seen = (await reader.find('orders')).instances.length;
  if (seen !== instances) throw new Error(`${label}: found ${seen} of ${instances} instances`);
  const keys = ids.map((id) => `registry:${NAMESPACE}:orders:${id}`);
  const raw = await time(() => counted.adapter.getMany(keys));
  const list = await time(() => store.list(NAMESPACE, 'orders'));
  const find = await time(() => reader.find('orders'));
  // What listing through Keyv's own iterator would cost: pages of 10 rows over the whole namespace.
  const walk = async () => {
    let seen = 0;
    for await (const _entry of keyv.iterator?.(undefined) ?? []) seen += 1;
    return seen;
  };
  const iteratorStatements = counted.statements;
  await walk();
  const iteratorPerWalk = counted.statements - iteratorStatements;
  const iterator = await time(walk);
  const count = async (action: () => Promise<unknown>) => {
    const before = counted.statements;
    await action();
    return counted.statements - before;
  };
  const statements = {
    refresh: await count(() => registries[0]?.update() as Promise<unknown>),
    changed: await count(() => registries[1]?.setStatus('draining') as Promise<unknown>),
    find: await count(() => reader.find('orders')),
    changeCount: await count(() => store.changeCount(NAMESPACE, 'orders')),
    deregister: await count(() => registries[2]?.deregister() as Promise<unknown>),
  };
  return { label, raw, list, find, iterator, iteratorPerWalk, statements };
}

export async function benchKeyv(options: KeyvOptions): Promise<KeyvResult> {
  const rows: KeyvRow[] = [];
  const folder = mkdtempSync(join(tmpdir(), 'keyv-bench-'));
  const started = Date.now();
  let postgresMissing: string | undefined;
  try {
    const sqlite = new Keyv({
      store: new KeyvSqlite({ uri: `sqlite://${join(folder, 'bench.sqlite')}`, table: 'registry' }),
      namespace: 'registry',
    });
    rows.push(await measure('SQLite (`@keyv/sqlite`, a file)', sqlite, options));
    await sqlite.disconnect();

    const postgres = await findPostgres({ env: { ...process.env, CI: undefined } });
    if (postgres) {
      const schema = `keyv_bench_${Math.random().toString(36).slice(2, 8)}`;
      const adapter = new KeyvPostgres({ uri: postgres.url, schema, table: 'registry' });
      const keyv = new Keyv({ store: adapter, namespace: 'registry' });
      try {
        rows.push(await measure('PostgreSQL (`@keyv/postgres`, 127.0.0.1)', keyv, options));
      } finally {
        await adapter.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await keyv.disconnect();
        await postgres.stop();
      }
    } else {
      postgresMissing = 'no PostgreSQL found (DATABASE_URL, a Docker engine, or 127.0.0.1:5432)';
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  return { rows, ...options, seconds: (Date.now() - started) / 1000, postgresMissing };
}
