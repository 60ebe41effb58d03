import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ServiceRegistry } from '@service-registry/core';
import { afterAll, describe, expect, it } from 'vitest';
import { keyvStore } from '../src/index.js';
import { postgres } from './found.js';
import { dropSchema, postgresKeyv, randomName, skipped, sqliteKeyv, tempFolder } from './support.js';

// Two OS processes register 50 instances each at the same moment into one SQLite file, and into one
// PostgreSQL table: a listing by prefix has no index to lose members from, so all 100 must be found.
const run = promisify(execFile);
const child = fileURLToPath(new URL('./fixtures/register-many.ts', import.meta.url));

function registerInChild(args: string[]) {
  return run(process.execPath, ['--conditions=@service-registry/source', '--import', 'tsx', child, ...args], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    timeout: 90_000,
  });
}

async function findAll(store: ReturnType<typeof keyvStore>, namespace: string) {
  const reader = new ServiceRegistry({
    store,
    secret: 'keyv-concurrency-secret-0123456789',
    publicUrl: 'https://reader.example.com',
    namespace,
  });
  return (await reader.find('fleet')).instances.map((instance) => instance.id).sort();
}

const expected = [
  ...Array.from({ length: 50 }, (_, index) => `a-${index}`),
  ...Array.from({ length: 50 }, (_, index) => `b-${index}`),
].sort();

describe('two processes registering at once', () => {
  const folder = tempFolder();
  afterAll(() => folder.remove());

  it('into one SQLite file: all 100 found', async () => {
    const file = folder.file('shared.sqlite');
    const keyv = sqliteKeyv(file);
    const store = keyvStore({ keyv });
    await store.list('warm-up'); // creates the table before the children race for it
    const namespace = randomName('conc');
    const outputs = await Promise.all([
      registerInChild(['sqlite', file, '', namespace, 'a', '50']),
      registerInChild(['sqlite', file, '', namespace, 'b', '50']),
    ]);
    expect(outputs.map((output) => output.stdout.trim())).toEqual(['registered 50', 'registered 50']);
    expect(await findAll(store, namespace)).toEqual(expected);
    await keyv.disconnect();
  }, 120_000);
});

if (postgres) {
  const url = postgres.url;
  describe('two processes registering at once', () => {
    const schema = randomName('reg_conc');
    const keyv = postgresKeyv(url, schema);
    afterAll(async () => {
      await dropSchema(keyv, schema);
      await keyv.disconnect();
    });

    it('into one PostgreSQL table: all 100 found', async () => {
      const store = keyvStore({ keyv });
      await store.list('warm-up');
      const namespace = randomName('conc');
      await Promise.all([
        registerInChild(['postgres', url, schema, namespace, 'a', '50']),
        registerInChild(['postgres', url, schema, namespace, 'b', '50']),
      ]);
      expect(await findAll(store, namespace)).toEqual(expected);
    }, 120_000);
  });
} else {
  skipped('two processes into one PostgreSQL table', 'a PostgreSQL');
}
