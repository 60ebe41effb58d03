// `pnpm bench`: every bench part (refresh, find, codec, discovery, keyv) in one process, one report.
// The Redis parts share one redis-server this process starts (and stops). Prints the report and writes
// BENCHMARKS.md; see the "How to run" section that `report.ts` writes for the flags.

import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getDefaultCryptoBackend } from '@service-registry/core';
import { startRedisServer } from '@service-registry/redis-testing';
import { redisStore } from '@service-registry/store-redis';
import { Redis } from 'ioredis';
import { benchCodecs, type Row as CodecRow, renderCodecSection } from './codec.js';
import { benchDiscovery } from './discovery.js';
import { renderDiscoverySection } from './discovery-report.js';
import { benchFind, type FindResult } from './find.js';
import { renderFindSection } from './find-report.js';
import { benchFleet } from './fleet.js';
import { runFleetChild, SEMI_SPACE_FLAG } from './fleet-child.js';
import { type FleetAttempt, renderFleetSection } from './fleet-report.js';
import type { Topology } from './fleet-server.js';
import type { FleetMode } from './fleet-writers.js';
import { benchKeyv } from './keyv.js';
import { renderKeyvSection } from './keyv-report.js';
import { collectGarbage, type Measured, peakLiveHeapBytes, progress } from './lib.js';
import { benchMemory } from './memory.js';
import { renderMemorySection, renderStartupSection } from './memory-report.js';
import { benchRefresh } from './refresh.js';
import { renderRefreshSection } from './refresh-report.js';
import { PARTS, type PartName, parseSections, renderDocument } from './report.js';
import { benchStartup } from './startup.js';

const REFRESH_CONCURRENCY = 50;
const ROOT_REPORT = fileURLToPath(new URL('../../../BENCHMARKS.md', import.meta.url));

const { values: flags } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: process.env.BENCH_QUICK === '1' },
    /** find: instance counts of the one service, ascending. */
    sizes: { type: 'string' },
    /** refresh: registries per fleet. */
    fleet: { type: 'string' },
    /** refresh, find, discovery: unrelated keys in the database (DEBUG POPULATE). */
    unrelated: { type: 'string' },
    'discovery-sizes': { type: 'string' },
    'discovery-scale': { type: 'string' },
    'keyv-instances': { type: 'string' },
    'fleet-instances': { type: 'string' },
    'fleet-services': { type: 'string' },
    'fleet-views': { type: 'string' },
    'fleet-view-services': { type: 'string' },
    'fleet-seconds': { type: 'string' },
    'fleet-churn': { type: 'string' },
    'fleet-connections': { type: 'string' },
    'fleet-topologies': { type: 'string' },
    'fleet-mode': { type: 'string' },
    'fleet-pipeline': { type: 'string' },
    'fleet-save': { type: 'string' },
    'fleet-render': { type: 'string' },
    'soak-seconds': { type: 'string' },
    out: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
  // pnpm passes a lone `--` through when forwarding arguments.
  allowPositionals: true,
});

const list = (text: string) => text.split(',').map((item) => item.trim());
const numbers = (flag: string, text: string) =>
  list(text).map((item) => {
    const value = Number(item.replace(/_/g, ''));
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`--${flag}: ${item} is not a positive integer`);
    return value;
  });
const parts: readonly PartName[] =
  flags.only === undefined
    ? PARTS
    : list(flags.only).map((part) => {
        if (!(PARTS as readonly string[]).includes(part))
          throw new Error(`--only: unknown part ${part} (parts: ${PARTS.join(', ')})`);
        return part as PartName;
      });
const runs = (part: PartName) => parts.includes(part);
const quick = flags.quick === true;
const sized = ['sizes', 'fleet', 'unrelated', 'discovery-sizes', 'discovery-scale', 'keyv-instances'].some(
  (flag) => flags[flag as keyof typeof flags] !== undefined,
);
// The fleet part's sizes: a resized fleet is a smoke test too (see `outPath`).
const fleetSized = Object.keys(flags).some((flag) => flag.startsWith('fleet-') || flag === 'soak-seconds');
const one = (flag: string, text: string | undefined, fallback: number) =>
  text === undefined ? fallback : (numbers(flag, text)[0] as number);
const plan = {
  sizes: flags.sizes === undefined ? [10, 1_000, 10_000] : numbers('sizes', flags.sizes),
  fleet: one('fleet', flags.fleet, 1000),
  unrelated: one('unrelated', flags.unrelated, 100_000),
  discoverySizes:
    flags['discovery-sizes'] === undefined
      ? [50, 250, 1000]
      : numbers('discovery-sizes', flags['discovery-sizes']),
  discoveryScale: one('discovery-scale', flags['discovery-scale'], 1),
  keyvInstances: one('keyv-instances', flags['keyv-instances'], 1000),
  soakSeconds: one('soak-seconds', flags['soak-seconds'], quick ? 30 : 180),
  fleetLoad: {
    instances: one('fleet-instances', flags['fleet-instances'], quick ? 10_000 : 100_000),
    services: one('fleet-services', flags['fleet-services'], quick ? 100 : 1000),
    views: one('fleet-views', flags['fleet-views'], quick ? 100 : 1000),
    viewServices: one('fleet-view-services', flags['fleet-view-services'], 3),
    seconds: one('fleet-seconds', flags['fleet-seconds'], quick ? 15 : 60),
    churnPerSecond: one('fleet-churn', flags['fleet-churn'], 10),
    connections: one('fleet-connections', flags['fleet-connections'], 8),
    mode: ((mode) => {
      if (mode !== 'lean' && mode !== 'registry')
        throw new Error(`--fleet-mode: unknown ${mode} (lean, registry)`);
      return mode as FleetMode;
    })(flags['fleet-mode'] ?? 'lean'),
    pipelined: ((text) => {
      if (text !== 'on' && text !== 'off') throw new Error(`--fleet-pipeline: ${text} (on, off)`);
      return text === 'on';
    })(flags['fleet-pipeline'] ?? (flags['fleet-mode'] === 'registry' ? 'off' : 'on')),
    topologies: list(flags['fleet-topologies'] ?? 'single,cluster').map((name) => {
      if (name !== 'single' && name !== 'cluster')
        throw new Error(`--fleet-topologies: unknown ${name} (single, cluster)`);
      return name as Topology;
    }),
  },
  keyvRuns: quick ? 10 : 30,
  refreshRounds: quick ? 7 : 21,
  findRounds: (size: number) =>
    quick ? (size >= 10_000 ? 7 : 11) : size >= 10_000 ? 31 : size >= 1_000 ? 41 : 51,
  seedRounds: quick ? 3 : 9,
  codecRounds: quick ? 3 : 7,
};
// A quick or resized run is a smoke test: its figures do not replace the file's unless asked to.
const outPath = flags['no-write']
  ? undefined
  : (flags.out ?? (quick || sized || fleetSized ? undefined : ROOT_REPORT));

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
const measured = (): Measured => ({
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  quick,
  cpus: availableParallelism(),
  loadBefore: loadavg(),
});

const sections = new Map<PartName, string>();
let redisVersion: string | undefined;
let redisMemory: string | undefined;
let find: FindResult | undefined;
let findMeasured: Measured | undefined;
let codecs: readonly CodecRow[] | undefined;

progress(`${quick ? 'quick' : 'full'} mode; parts ${parts.join(', ')}`);
if (runs('refresh') || runs('find') || runs('discovery')) {
  const server = await startRedisServer({ args: ['--enable-debug-command', 'local'] });
  const client = new Redis(server.url); // the measured connection: store, baselines
  const admin = new Redis(server.url); // INFO, DBSIZE, setup: never inside a timed section
  const store = redisStore({ client });
  try {
    redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? 'unknown';
    progress(
      `redis-server ${redisVersion} on ${server.url}; DEBUG POPULATE ${plan.unrelated} unrelated keys`,
    );
    await admin.call('DEBUG', 'POPULATE', plan.unrelated, 'unrelated', 64);
    if (runs('refresh')) {
      const at = measured();
      const refresh = await benchRefresh({
        client,
        admin,
        store,
        rounds: plan.refreshRounds,
        fleetSize: plan.fleet,
        concurrency: REFRESH_CONCURRENCY,
      });
      sections.set(
        'refresh',
        renderRefreshSection({
          measured: at,
          refresh,
          concurrency: REFRESH_CONCURRENCY,
          rounds: plan.refreshRounds,
        }),
      );
    }
    if (runs('find')) {
      findMeasured = measured();
      find = await benchFind({
        url: server.url,
        client,
        admin,
        store,
        nodeBackend,
        sizes: plan.sizes,
        rounds: plan.findRounds,
        seedRounds: plan.seedRounds,
      });
      // Rendered after the codec part: its reading quotes the batched decode of the same run.
    }
    if (runs('discovery')) {
      const at = measured();
      collectGarbage();
      const discovery = await benchDiscovery({
        url: server.url,
        sizes: plan.discoverySizes,
        scale: plan.discoveryScale,
      });
      sections.set(
        'discovery',
        renderDiscoverySection({ measured: at, discovery, unrelatedKeys: plan.unrelated }),
      );
    }
    redisMemory = /used_memory_human:(\S+)/.exec(await admin.info('memory'))?.[1] ?? 'unknown';
  } finally {
    await store.close();
    client.disconnect();
    admin.disconnect();
    await server.stop();
  }
}
if (runs('codec')) {
  const at = measured();
  collectGarbage();
  progress('codecs: encrypt and decrypt one record, both codecs, both backends');
  codecs = await benchCodecs({
    ...(find === undefined ? {} : { record: find.sample.plaintext, recordKey: find.sample.key }),
    rounds: plan.codecRounds,
    recordsPerRound: quick ? 500 : 2000,
    batchSize: quick ? 500 : 1000,
  });
  const sample =
    find === undefined
      ? undefined
      : { plaintextBytes: find.sample.plaintext.length, storedBytes: find.sample.value.length };
  sections.set('codec', renderCodecSection({ measured: at, rows: codecs, rounds: plan.codecRounds, sample }));
}
if (find !== undefined && findMeasured !== undefined) {
  sections.set(
    'find',
    renderFindSection({ measured: findMeasured, unrelatedKeys: plan.unrelated, find, codecs }),
  );
}
if (runs('keyv')) {
  const at = measured();
  collectGarbage();
  const keyv = await benchKeyv({ instances: plan.keyvInstances, runs: plan.keyvRuns });
  sections.set('keyv', renderKeyvSection({ measured: at, keyv }));
}
if (runs('fleet')) {
  // `--fleet-save FILE` keeps a run's raw result; `--fleet-render FILE` renders a kept one again
  // (its own date and load average) without measuring: a change to the report's wording needs no rerun.
  let run: FleetAttempt;
  let others: FleetAttempt[] = [];
  if (flags['fleet-render'] !== undefined) {
    // `single.json+cluster.json`: the runs of two kept results (one topology each) as one, dated by the first.
    const load = async (files: string): Promise<FleetAttempt> => {
      const parts = await Promise.all(
        files.split('+').map(async (file) => JSON.parse(await readFile(file, 'utf8')) as FleetAttempt),
      );
      const [first] = parts as [FleetAttempt];
      const runs = parts.flatMap((part) => part.fleet.runs);
      const topologies = runs.map((item) => item.topology);
      return { measured: first.measured, fleet: { options: { ...first.fleet.options, topologies }, runs } };
    };
    const kept = await Promise.all(list(flags['fleet-render']).map(load));
    run = kept[0] as FleetAttempt;
    others = kept.slice(1);
  } else {
    const at = measured();
    collectGarbage();
    // A process of its own, with a larger young generation (fleet-child.ts), unless this one has it.
    const fleet = process.execArgv.includes(SEMI_SPACE_FLAG)
      ? await benchFleet(plan.fleetLoad)
      : await runFleetChild(plan.fleetLoad);
    run = { measured: at, fleet };
    if (flags['fleet-save'] !== undefined) await writeFile(flags['fleet-save'], JSON.stringify(run));
  }
  sections.set('fleet', renderFleetSection(run, others));
}
if (runs('memory')) {
  const at = measured();
  collectGarbage();
  const memory = await benchMemory({
    cached: quick ? 2000 : 10_000,
    soakSeconds: plan.soakSeconds,
    soakInstances: quick ? 200 : 1000,
    soakChurnPerSecond: 20,
  });
  sections.set('memory', renderMemorySection({ measured: at, memory }));
}
if (runs('startup')) {
  const at = measured();
  const startup = await benchStartup({ runs: quick ? 5 : 15, instances: 1000 });
  sections.set('startup', renderStartupSection({ measured: at, startup }));
}
clearInterval(rssTimer);
peakRss = Math.max(peakRss, process.memoryUsage().rss);

const previousText = await readFile(ROOT_REPORT, 'utf8').catch(() => '');
const report = renderDocument(
  {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    quick,
    parts,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: totalmem() / 1024 ** 3,
    os: `${type()} ${release()}`,
    node: process.version,
    redis: redisVersion,
    loadBefore,
    loadAfter: loadavg(),
    durationSeconds: (performance.now() - startedAt) / 1000,
    peakRssMiB: peakRss / 1024 ** 2,
    peakLiveHeapMiB: peakLiveHeapBytes() / 1024 ** 2,
    redisMemory,
  },
  sections,
  parseSections(previousText),
);
process.stdout.write(report);
if (outPath !== undefined) {
  await writeFile(outPath, report);
  progress(`wrote ${resolve(outPath)}`);
}
// Closed stores and the Keyv adapters leave reconnect timers and pools behind for a moment.
process.exit(0);
