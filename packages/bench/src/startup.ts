// The startup part (`pnpm bench --only startup`): what a fresh process pays before its first answer,
// as a serverless function does on a cold start. Each figure comes from a new `node` process (the
// built `dist` files, no TypeScript loader) that times its own imports, its first Redis command and
// its first `find(service)` and view load, against an empty `node` process measured the same way.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ServiceRegistry } from '@service-registry/core';
import { startRedisServer } from '@service-registry/redis-testing';
import { redisStore } from '@service-registry/store-redis';
import { ENDPOINTS, progress, runBounded, SECRET, type Summary, summarize } from './lib.js';

const run = promisify(execFile);
const dist = (name: string, file = 'index.js') =>
  fileURLToPath(new URL(`../../${name}/dist/${file}`, import.meta.url));

/** What each fresh process imports, by label. */
const IMPORTS: readonly { label: string; path: string }[] = [
  { label: '`@service-registry/core` (node condition: node:crypto)', path: dist('core', 'index.node.js') },
  { label: '`@service-registry/core` (default: Web Crypto, as on edge runtimes)', path: dist('core') },
  { label: '`@service-registry/store-redis` (with ioredis)', path: dist('store-redis') },
  { label: '`@service-registry/store-upstash`', path: dist('store-upstash') },
];

// Runs inside the fresh process: times the imports given as arguments (ms, from process start too).
const IMPORT_SCRIPT = `
const started = performance.now();
for (const path of process.argv.slice(1)) await import(path);
console.log(JSON.stringify({ importMs: performance.now() - started, sinceStartMs: performance.now() }));
`;

// Imports core and store-redis, opens a store, sends its first command, then the first find and a
// view's first load: what a function handler does on its first invocation.
const CONNECT_SCRIPT = `
const [core, redis, url, namespace, secret] = process.argv.slice(1);
const t0 = performance.now();
const { ServiceRegistry, createDiscovery } = await import(core);
const { redisStore } = await import(redis);
const t1 = performance.now();
const store = redisStore({ url });
const registry = new ServiceRegistry({ store, secret, namespace });
await store.time();
const t2 = performance.now();
const found = await registry.find('api');
const t3 = performance.now();
await registry.find('api');
const t4 = performance.now();
const view = createDiscovery({ store, secret, namespace, services: ['api'] });
await view.ready;
const t5 = performance.now();
if (found.instances.length === 0) throw new Error('nothing found');
console.log(JSON.stringify({ importMs: t1 - t0, connectMs: t2 - t1, findMs: t3 - t2, secondFindMs: t4 - t3, viewMs: t5 - t4, totalMs: t5, instances: found.instances.length }));
await view.close();
await registry.close();
await store.close();
`;

export interface StartupResult {
  readonly runs: number;
  /** Node's own start, up to the first line of the script (an empty process), ms. */
  readonly emptyProcess: Summary;
  readonly imports: readonly { label: string; ms: Summary }[];
  readonly connect: Record<
    'importMs' | 'connectMs' | 'findMs' | 'secondFindMs' | 'viewMs' | 'totalMs',
    Summary
  >;
  readonly instances: number;
}

async function fresh(script: string, args: readonly string[]): Promise<Record<string, number>> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, ...args], {
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, number>;
}

export async function benchStartup(options: { runs: number; instances: number }): Promise<StartupResult> {
  for (const { path } of IMPORTS) {
    if (!existsSync(path)) throw new Error(`${path} is missing: run pnpm build first`);
  }
  const server = await startRedisServer();
  const namespace = `startup-${Date.now().toString(36)}`;
  const store = redisStore({ url: server.url });
  try {
    progress(
      `startup: ${options.instances} instances of one service, ${options.runs} fresh processes per figure`,
    );
    await runBounded(options.instances, 50, async (index) => {
      const registry = new ServiceRegistry({
        store,
        secret: SECRET,
        namespace,
        publicUrl: `http://u${index}.test`,
        ttl: 3600,
      });
      await registry.register(ENDPOINTS, {
        serviceName: 'api',
        instanceId: `u${index}`,
        port: 80,
        refresh: false,
      });
      await registry.close({ deregister: false });
    });
    const empty: number[] = [];
    const imports = IMPORTS.map(() => [] as number[]);
    const connect: Record<string, number[]> = {};
    let instances = 0;
    // Interleaved round by round, so machine load hits every figure alike.
    for (let round = 0; round < options.runs; round++) {
      empty.push((await fresh(IMPORT_SCRIPT, [])).sinceStartMs as number);
      for (const [index, { path }] of IMPORTS.entries()) {
        imports[index]?.push((await fresh(IMPORT_SCRIPT, [path])).importMs as number);
      }
      const measured = await fresh(CONNECT_SCRIPT, [
        dist('core', 'index.node.js'),
        dist('store-redis'),
        server.url,
        namespace,
        SECRET,
      ]);
      instances = measured.instances as number;
      for (const [name, value] of Object.entries(measured)) {
        connect[name] ??= [];
        connect[name].push(value);
      }
    }
    const summary = (name: string) => summarize(connect[name] ?? []);
    return {
      runs: options.runs,
      emptyProcess: summarize(empty),
      imports: IMPORTS.map(({ label }, index) => ({ label, ms: summarize(imports[index] ?? []) })),
      connect: {
        importMs: summary('importMs'),
        connectMs: summary('connectMs'),
        findMs: summary('findMs'),
        secondFindMs: summary('secondFindMs'),
        viewMs: summary('viewMs'),
        totalMs: summary('totalMs'),
      },
      instances,
    };
  } finally {
    await store.close();
    await server.stop();
  }
}
