// `pnpm bench`: refresh throughput, find(service) latency and codec cost, side by side in one run, on a
// redis-server this process starts (and stops). Prints the report and writes BENCHMARKS.md.
//
//   pnpm bench [--quick] [--out FILE] [--no-write]
//
// --quick: fewer rounds (about a minute); prints only unless --out is given.

import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getDefaultCryptoBackend } from '@service-registry/core';
import { startRedisServer } from '@service-registry/redis-testing';
import { Redis } from 'ioredis';
import { benchCodecs } from '../../core/bench/codec.js';
import { redisStore } from '../src/index.js';
import { benchFind } from './find.js';
import { collectGarbage, peakLiveHeapBytes, progress } from './lib.js';
import { benchRefresh } from './refresh.js';
import { renderReport } from './report.js';

const UNRELATED_KEYS = 100_000;
const REFRESH_CONCURRENCY = 50;
const SIZES = [10, 1_000, 10_000];
const ROOT_REPORT = fileURLToPath(new URL('../../../BENCHMARKS.md', import.meta.url));

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: process.env.BENCH_QUICK === '1' },
    out: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
  // pnpm passes a lone `--` through when forwarding arguments.
  allowPositionals: true,
});
const quick = flags.quick === true;
const plan = quick
  ? {
      refreshRounds: 7,
      findRounds: (size: number) => (size >= 10_000 ? 7 : 11),
      seedRounds: 3,
      codecRounds: 3,
    }
  : {
      refreshRounds: 21,
      findRounds: (size: number) => (size >= 10_000 ? 31 : size >= 1_000 ? 41 : 51),
      seedRounds: 9,
      codecRounds: 7,
    };
const outPath = flags['no-write'] ? undefined : (flags.out ?? (quick ? undefined : ROOT_REPORT));

const nodeBackend = getDefaultCryptoBackend();
if (nodeBackend.name !== 'node') {
  throw new Error(
    `@service-registry/core loaded without its node condition (default backend: ${nodeBackend.name}); run through pnpm bench`,
  );
}

const startedAt = performance.now();
const loadBefore = loadavg();
let peakRss = process.memoryUsage().rss;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 250);
rssTimer.unref();

progress(`${quick ? 'quick' : 'full'} mode; starting redis-server`);
const server = await startRedisServer({ args: ['--enable-debug-command', 'local'] });
const client = new Redis(server.url); // the measured connection: store, baselines
const admin = new Redis(server.url); // INFO, DBSIZE, setup: never inside a timed section
const store = redisStore({ client });
try {
  const redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? 'unknown';
  progress(`redis-server ${redisVersion} on ${server.url}; DEBUG POPULATE ${UNRELATED_KEYS} unrelated keys`);
  await admin.call('DEBUG', 'POPULATE', UNRELATED_KEYS, 'unrelated', 64);

  const refresh = await benchRefresh({
    client,
    admin,
    store,
    rounds: plan.refreshRounds,
    concurrency: REFRESH_CONCURRENCY,
  });
  const find = await benchFind({
    client,
    admin,
    store,
    nodeBackend,
    sizes: SIZES,
    rounds: plan.findRounds,
    seedRounds: plan.seedRounds,
  });
  collectGarbage();
  progress('codecs: encrypt and decrypt one record, both codecs, both backends');
  const codecs = await benchCodecs({
    record: find.sample.plaintext,
    recordKey: find.sample.key,
    rounds: plan.codecRounds,
    recordsPerRound: quick ? 500 : 2000,
    batchSize: quick ? 500 : 1000,
  });
  const redisMemory = /used_memory_human:(\S+)/.exec(await admin.info('memory'))?.[1] ?? 'unknown';
  peakRss = Math.max(peakRss, process.memoryUsage().rss);

  const report = renderReport({
    quick,
    machine: {
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: totalmem() / 1024 ** 3,
      os: `${type()} ${release()}`,
      node: process.version,
      redis: redisVersion,
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      loadBefore,
      loadAfter: loadavg(),
      durationSeconds: (performance.now() - startedAt) / 1000,
      peakRssMiB: peakRss / 1024 ** 2,
      peakLiveHeapMiB: peakLiveHeapBytes() / 1024 ** 2,
      redisMemory,
    },
    unrelatedKeys: UNRELATED_KEYS,
    refresh,
    refreshConcurrency: REFRESH_CONCURRENCY,
    refreshRounds: plan.refreshRounds,
    find,
    codecs,
    codecRounds: plan.codecRounds,
  });
  process.stdout.write(`${report}\n`);
  if (outPath !== undefined) {
    await writeFile(outPath, `${report}\n`);
    progress(`wrote ${resolve(outPath)}`);
  }
} finally {
  clearInterval(rssTimer);
  await store.close();
  client.disconnect();
  admin.disconnect();
  await server.stop();
}
