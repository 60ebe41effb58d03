import KeyvMysql from '@keyv/mysql';
import { createKeyv as createRedisKeyv } from '@keyv/redis';
import { findRedis } from '@service-registry/redis-testing';
import { runRegistryScenarios, runStoreConformance } from '@service-registry/test-suite';
import Keyv from 'keyv';
import { afterAll } from 'vitest';
import { keyvStore } from '../src/index.js';
import { mysql, postgres } from './found.js';
import { dropSchema, postgresKeyv, randomName, skipped } from './support.js';

// The same suites on the server backends: PostgreSQL, Redis and MySQL (MariaDB), each in a schema,
// Keyv namespace or table of its own, dropped after.
const capabilities = { watch: false, nativeExpiry: true, changeCount: true } as const;

if (postgres) {
  const schema = randomName('reg_test');
  const keyv = postgresKeyv(postgres.url, schema);
  runStoreConformance('keyv (@keyv/postgres)', { createStore: () => keyvStore({ keyv }), capabilities });
  runRegistryScenarios('keyv (@keyv/postgres)', { createStore: () => keyvStore({ keyv }) });
  afterAll(async () => {
    await dropSchema(keyv, schema);
    await keyv.disconnect();
  });
} else {
  skipped('keyv (@keyv/postgres)', 'a PostgreSQL');
}

const redis = await findRedis();
if (redis) {
  const found = redis;
  const namespace = randomName('registry-test');
  const keyv = createRedisKeyv(found.url, { namespace });
  runStoreConformance('keyv (@keyv/redis)', { createStore: () => keyvStore({ keyv }), capabilities });
  runRegistryScenarios('keyv (@keyv/redis)', { createStore: () => keyvStore({ keyv }) });
  afterAll(async () => {
    await keyv.clear();
    await keyv.disconnect();
    await found.stop();
  });
} else {
  skipped('keyv (@keyv/redis)', 'a Redis');
}

if (mysql) {
  const table = randomName('registry_test');
  const adapter = new KeyvMysql({ uri: mysql.url, table, iterationLimit: 1000 });
  // The adapter's own table has a TEXT value (64 KiB, less than a largest record in Keyv's envelope):
  // the README tells users to widen it to MEDIUMTEXT, as here (the query waits for the adapter's CREATE).
  await adapter.query(`ALTER TABLE \`${table}\` MODIFY value MEDIUMTEXT`);
  const keyv = new Keyv({ store: adapter, namespace: 'registry' });
  runStoreConformance('keyv (@keyv/mysql)', { createStore: () => keyvStore({ keyv }), capabilities });
  runRegistryScenarios('keyv (@keyv/mysql)', { createStore: () => keyvStore({ keyv }) });
  afterAll(async () => {
    await adapter.query(`DROP TABLE IF EXISTS \`${table}\``);
    await keyv.disconnect();
  });
} else {
  skipped('keyv (@keyv/mysql)', 'a MySQL or MariaDB');
}
