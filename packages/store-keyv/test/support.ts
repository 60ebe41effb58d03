import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvPostgres from '@keyv/postgres';
import KeyvSqlite from '@keyv/sqlite';
import { type FoundPostgres, findPostgres } from '@service-registry/redis-testing';
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

/** The PostgreSQL for this file (see `findPostgres`); `undefined` outside CI when there is none. */
export const postgres: FoundPostgres | undefined = await findPostgres();

/** A name of its own per test run (schema, table, Keyv namespace): lower case letters, digits, `_`. */
export function randomName(prefix: string): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
}

/** Drops a schema the tests made, through the Keyv's own adapter. */
export async function dropSchema(keyv: Keyv, schema: string): Promise<void> {
  await (keyv.store as KeyvPostgres).query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}

/**
 * The MySQL or MariaDB for this file: `MYSQL_URL`, else the machine's 127.0.0.1:3306 (root, no
 * password, database `test`). Skipped loudly without one, failed under CI=true.
 */
export const mysql: { url: string } | undefined = await findMysql();

async function findMysql(): Promise<{ url: string } | undefined> {
  if (process.env.MYSQL_URL) return { url: process.env.MYSQL_URL };
  const open = await new Promise<boolean>((resolve) => {
    const socket = connect(3306, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
  if (open) return { url: 'mysql://root@127.0.0.1:3306/test' };
  const notice = 'No MySQL or MariaDB for the tests: set MYSQL_URL or run one on 127.0.0.1:3306.';
  if (process.env.CI === 'true') throw new Error(`${notice} (CI=true, so the MySQL suites fail.)`);
  console.warn(`\n${'!'.repeat(78)}\n!! SKIPPING THE MYSQL SUITES. ${notice}\n${'!'.repeat(78)}\n`);
  return undefined;
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
