// The memory and startup sections of BENCHMARKS.md.

import { fmt, fmtSpread, type Measured, markdownTable, measuredLine } from './lib.js';
import { type MemoryResult, slopePerMinute } from './memory.js';
import type { StartupResult } from './startup.js';

const KiB = 1024;

export function renderMemorySection(input: { measured: Measured; memory: MemoryResult }): string {
  const { cached, view, find, soak } = input.memory;
  const per10k = (bytes: number) => `${fmt((bytes * 10_000) / 1024 ** 2)} MiB`;
  const samples = soak.samples;
  const half = samples.slice(Math.floor(samples.length / 2));
  const first = samples[0];
  const last = samples[samples.length - 1];
  const peakHeap = Math.max(...samples.map((sample) => sample.heapMiB));
  return [
    '## Memory: cached instances and a churn soak',
    '',
    measuredLine(input.measured),
    '',
    markdownTable(
      ['held by', 'live heap per instance', 'per 10,000', 'RSS per 10,000'],
      [
        [
          'a view (`createDiscovery`, every service)',
          `${fmt(view.heap / KiB)} KiB`,
          per10k(view.heap),
          per10k(view.rss),
        ],
        [
          "`find(service)`'s decode cache",
          `${fmt(find.heap / KiB)} KiB`,
          per10k(find.heap),
          per10k(find.rss),
        ],
      ],
    ),
    '',
    `Soak: ${first?.live ?? 0} live instances over 20 services (ttl ${soak.ttl} s, interval ${soak.interval} s) and 5 views ` +
      `of every service, ${soak.churned} churn events in ${fmt(last?.seconds ?? 0)} s (in turn: a status change, a ` +
      'deregister and a crash, each leave replaced by a new instance, so the fleet keeps its size and every ' +
      'instance id is new). Heap after a full GC and RSS, sampled:',
    '',
    markdownTable(
      ['seconds', 'live heap MiB', 'RSS MiB', 'live instances', 'instances in the 5 views'],
      samples.map((sample) => [
        fmt(sample.seconds),
        fmt(sample.heapMiB),
        fmt(sample.rssMiB),
        String(sample.live),
        String(sample.cached),
      ]),
    ),
    '',
    `Slope over the second half of the soak: heap ${fmt(slopePerMinute(half, (sample) => sample.heapMiB))} MiB/min, ` +
      `RSS ${fmt(slopePerMinute(half, (sample) => sample.rssMiB))} MiB/min (whole run: heap ` +
      `${fmt(slopePerMinute(samples, (sample) => sample.heapMiB))} MiB/min); heap first ${fmt(first?.heapMiB ?? 0)}, ` +
      `peak ${fmt(peakHeap)}, last ${fmt(last?.heapMiB ?? 0)} MiB.`,
    '',
    'Method (`packages/bench/src/memory.ts`; `pnpm bench --only memory`, `--soak-seconds N`, not in CI): a',
    `redis-server of its own; ${cached.toLocaleString('en-US')} instances over 10 services written once (refresh off); live heap`,
    "after a full GC before and after a view's first load (and after `find()` of every service, whose",
    'decode cache keeps the last ciphertext and its decoded record per key), divided by the instances. The',
    'bench process itself (writers, the records being built) is in the baseline, not in the figure. RSS',
    'deltas include heap the GC has not given back, so they are coarser.',
  ].join('\n');
}

export function renderStartupSection(input: { measured: Measured; startup: StartupResult }): string {
  const { runs, emptyProcess, imports, connect, instances } = input.startup;
  return [
    '## Startup: import and connect cost of a fresh process',
    '',
    measuredLine(input.measured),
    '',
    markdownTable(
      ['a fresh `node` process (built `dist`)', 'ms, median (p10–p90)'],
      [
        ['empty process: start to first line of the script', fmtSpread(emptyProcess)],
        ...imports.map(({ label, ms }) => [`import ${label}`, fmtSpread(ms)]),
        ['import core + store-redis', fmtSpread(connect.importMs)],
        ['`redisStore({ url })` and its first command (TIME)', fmtSpread(connect.connectMs)],
        [
          `first \`find(service)\` (${instances} instances: derive the key, read, decrypt)`,
          fmtSpread(connect.findMs),
        ],
        ['second `find(service)` (warm)', fmtSpread(connect.secondFindMs)],
        ["a view's first load of the same service", fmtSpread(connect.viewMs)],
        ['all of it, from the first line of the script', fmtSpread(connect.totalMs)],
      ],
    ),
    '',
    `What a serverless function pays on a cold start, beyond Node's own start: the imports, then one ` +
      'connection and the first find, in this table; a warm invocation pays only the second find. Every ' +
      `figure is a new process (${runs} of each, interleaved round by round), importing the built files the ` +
      'way a deployed function does (no TypeScript loader); each import is timed inside the process, after ' +
      "Node's own start. Redis is a local redis-server this part starts, so the connect figure is loopback: " +
      'add a network round trip or two (TCP, and TLS for Upstash or a managed Redis) in production.',
    '',
    'Method: `packages/bench/src/startup.ts`; `pnpm bench --only startup` (needs `pnpm build`).',
  ].join('\n');
}
