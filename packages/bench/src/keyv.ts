// `pnpm --filter @service-registry/store-keyv bench`: find(service) at 1,000 instances on SQLite (a file)
// and PostgreSQL (DATABASE_URL or 127.0.0.1:5432, a schema of its own, dropped after), against the same
// adapter's raw multi-get of those rows; and statements per operation. Prints a Markdown section.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvPostgres from '@keyv/postgres';
import KeyvSqlite from '@keyv/sqlite';
import { ServiceRegistry } from '@service-registry/core';
import { findPostgres } from '@service-registry/redis-testing';
import Keyv from 'keyv';
import { keyvStore } from '../src/index.js';

const INSTANCES = 1000;
const RUNS = 30;
const SECRET = 'keyv-bench-secret-0123456789abcdef';
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

async function median(action: () => Promise<unknown>): Promise<number> {
  for (let warm = 0; warm < 3; warm += 1) await action();
  const times: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const started = performance.now();
    await action();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

async function measure(label: string, keyv: Keyv) {
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
  const ids = Array.from({ length: INSTANCES }, (_, index) => `i-${String(index).padStart(4, '0')}`);
  const registries: ServiceRegistry[] = [];
  for (let start = 0; start < INSTANCES; start += 50) {
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
  for (let start = 0; start < INSTANCES; start += 50) {
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
  if (seen !== INSTANCES) throw new Error(`${label}: found ${seen} of ${INSTANCES} instances`);
  const keys = ids.map((id) => `registry:${NAMESPACE}:orders:${id}`);
  const raw = await median(() => counted.adapter.getMany(keys));
  const list = await median(() => store.list(NAMESPACE, 'orders'));
  const find = await median(() => reader.find('orders'));
  // What listing through Keyv's own iterator would cost: pages of 10 rows over the whole namespace.
  const walk = async () => {
    let seen = 0;
    for await (const _entry of keyv.iterator?.(undefined) ?? []) seen += 1;
    return seen;
  };
  const iteratorStatements = counted.statements;
  await walk();
  const iteratorPerWalk = counted.statements - iteratorStatements;
  const iterator = await median(walk);
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

const rows: Awaited<ReturnType<typeof measure>>[] = [];
const folder = mkdtempSync(join(tmpdir(), 'keyv-bench-'));
const loadBefore = loadavg();
const started = Date.now();
try {
  const sqlite = new Keyv({
    store: new KeyvSqlite({ uri: `sqlite://${join(folder, 'bench.sqlite')}`, table: 'registry' }),
    namespace: 'registry',
  });
  rows.push(await measure('SQLite (`@keyv/sqlite`, a file)', sqlite));
  await sqlite.disconnect();

  const postgres = await findPostgres({ env: { ...process.env, CI: undefined } });
  if (postgres) {
    const schema = `keyv_bench_${Math.random().toString(36).slice(2, 8)}`;
    const adapter = new KeyvPostgres({ uri: postgres.url, schema, table: 'registry' });
    const keyv = new Keyv({ store: adapter, namespace: 'registry' });
    try {
      rows.push(await measure('PostgreSQL (`@keyv/postgres`, 127.0.0.1)', keyv));
    } finally {
      await adapter.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await keyv.disconnect();
      await postgres.stop();
    }
  }
} finally {
  rmSync(folder, { recursive: true, force: true });
}

const ms = (value: number) => `${value.toFixed(2)} ms`;
const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}×`;
const lines = [
  `Measured by \`pnpm --filter @service-registry/store-keyv bench\` on ${new Date().toISOString()}: ${cpus().length} cores, load ${loadBefore.map((value) => value.toFixed(2)).join(' / ')} before, ${((Date.now() - started) / 1000).toFixed(0)} s. ${INSTANCES.toLocaleString('en')} instances of \`orders\` plus ${INSTANCES.toLocaleString('en')} rows of another service in the same table; medians of ${RUNS} runs after 3 warm-ups.`,
  '',
  "| backend | raw `getMany` of the 1,000 keys | `store.list(ns, service)` | `find(service)` (warm) | list / raw | find / raw | Keyv's own `iterator()` over the namespace |",
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (row) =>
      `| ${row.label} | ${ms(row.raw)} | ${ms(row.list)} | ${ms(row.find)} | ${ratio(row.list, row.raw)} | ${ratio(row.find, row.raw)} | ${ms(row.iterator)}, ${row.iteratorPerWalk} statements (${ratio(row.iterator, row.raw)}) |`,
  ),
  '',
  '| SQL statements per operation | routine refresh (`update()`) | changed record (`setStatus`) | `find(service)` | `changeCount` | `deregister()` |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (row) =>
      `| ${row.label} | ${row.statements.refresh} | ${row.statements.changed} | ${row.statements.find} | ${row.statements.changeCount} | ${row.statements.deregister} |`,
  ),
];
console.log(lines.join('\n'));
process.exit(0);
