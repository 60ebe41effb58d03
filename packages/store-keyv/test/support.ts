import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvPostgres from '@keyv/postgres';
import KeyvSqlite from '@keyv/sqlite';
import Keyv from 'keyv';
import { describe, it } from 'vitest';

/** A temp folder for SQLite files, removed by `remove`. */
export function tempFolder(): { path: string; file: (name: string) => string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'store-keyv-'));
  return {
    path,
    file: (name) => join(path, name),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}

/** A Keyv on a SQLite file, in the registry's own namespace. */
export function sqliteKeyv(file: string, table = 'registry'): Keyv {
  return new Keyv({
    store: new KeyvSqlite({ uri: `sqlite://${file}`, table, busyTimeout: 10_000 }),
    namespace: 'registry',
  });
}

/** A name of its own per test run (schema, table, Keyv namespace): lower case letters, digits, `_`. */
export function randomName(prefix: string): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
}

/** Drops a schema the tests made, through the Keyv's own adapter. */
export async function dropSchema(keyv: Keyv, schema: string): Promise<void> {
  await (keyv.store as KeyvPostgres).query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}

/** A Keyv on PostgreSQL in `schema` (created by the adapter when missing). */
export function postgresKeyv(url: string, schema: string, table = 'registry'): Keyv {
  return new Keyv({ store: new KeyvPostgres({ uri: url, schema, table, max: 4 }), namespace: 'registry' });
}

/** Registers a skipped suite, so a run without the backend shows what it did not test. */
export function skipped(label: string, why: string): void {
  describe.skip(`${label} (${why}: see the notice above)`, () => {
    it(`needs ${why}`, () => {});
  });
}
