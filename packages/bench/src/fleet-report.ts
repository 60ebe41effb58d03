// The fleet section of BENCHMARKS.md: 100,000 instances and 1,000 views on one Redis and on a
// 3-master Cluster, with the achieved refresh rate, per-refresh server costs and where the first limit is.

import type { FleetResult, FleetRun } from './fleet.js';
import { INTERVAL_SECONDS, TTL_SECONDS } from './fleet.js';
import { LEAN_IN_FLIGHT } from './fleet-lean.js';
import { kib, pct, reading, totals } from './fleet-reading.js';
import { WRITERS_PER_CODEC } from './fleet-writers.js';
import { fmt, fmtLoad, fmtSpread, type Measured, markdownTable, measuredLine, sum } from './lib.js';

function topCommands(run: FleetRun, count = 10): string[][] {
  const merged = new Map<string, { perSecond: number; usec: number }>();
  for (const node of run.nodes) {
    for (const [name, { perSecond, usecPerCall }] of Object.entries(node.commands)) {
      const entry = merged.get(name) ?? { perSecond: 0, usec: 0 };
      entry.perSecond += perSecond;
      entry.usec += perSecond * usecPerCall;
      merged.set(name, entry);
    }
  }
  const serverUs = sum([...merged.values()].map((entry) => entry.usec));
  return [...merged.entries()]
    .sort((left, right) => right[1].usec - left[1].usec)
    .slice(0, count)
    .map(([name, { perSecond, usec }]) => [
      `\`${name}\``,
      fmt(perSecond),
      fmt(usec / perSecond),
      pct(usec / serverUs),
    ]);
}

function runRow(run: FleetRun): string[] {
  const total = totals(run);
  return [
    run.topology === 'single' ? 'one redis-server' : `Cluster, ${run.nodes.length} masters`,
    `${fmt(run.refreshesPerSecond)} / ${fmt(run.targetRefreshesPerSecond)} (${pct(run.refreshesPerSecond / run.targetRefreshesPerSecond)})`,
    pct(total.cpu),
    fmt(total.commands),
    kib(total.netIn),
    kib(total.netOut),
    fmt(total.cpuUsPerRefresh),
    `${pct(run.generatorCpu)} (loop p99 ${fmt(run.loopDelayP99Ms)} ms)`,
    run.lag ? `${fmt(run.lag.late.median)} / ${fmt(run.lag.p99)}` : 'n/a',
    run.machineBusy === undefined ? 'n/a' : pct(run.machineBusy),
  ];
}

function spreadRows(run: FleetRun): string[][] {
  const total = totals(run);
  return run.nodes.map((node) => [
    node.node,
    pct(node.mainThreadCpu),
    `${fmt(node.commandsPerSecond)} (${pct(node.commandsPerSecond / total.commands)})`,
    kib(node.netInPerSecond),
    kib(node.netOutPerSecond),
    fmt(node.clients),
    `${fmt(node.usedMemory / 1024 ** 2)} MiB`,
  ]);
}

function freshnessRows(run: FleetRun, label: string = run.topology): string[][] {
  const { join, leave, status } = run.freshness;
  return [
    ['join (`register()`)', fmtSpread(join), fmt(join.max), String(join.n)],
    ['leave (`close()`: deregister)', fmtSpread(leave), fmt(leave.max), String(leave.n)],
    ['status change (`setStatus()`)', fmtSpread(status), fmt(status.max), String(status.n)],
  ].map((row) => [`${label}: ${row[0]}`, ...(row.slice(1) as string[])]);
}

/** Another size tried (a kept result of its own run): one row, for the section's "other runs" table. */
export interface FleetAttempt {
  readonly measured: Measured;
  readonly fleet: FleetResult;
}

function attemptRows(attempts: readonly FleetAttempt[]): string[][] {
  return attempts.flatMap(({ measured, fleet }) =>
    fleet.runs.map((run) => [
      `${fleet.options.instances.toLocaleString('en-US')} / ${fleet.options.services.toLocaleString('en-US')} / ${fleet.options.views.toLocaleString('en-US')}`,
      `${run.topology}, ${fleet.options.mode}`,
      `${fmt(run.refreshesPerSecond)} / ${fmt(run.targetRefreshesPerSecond)} (${pct(run.refreshesPerSecond / run.targetRefreshesPerSecond)})`,
      pct(totals(run).cpu),
      fmt(totals(run).commands),
      `${pct(run.generatorCpu)}`,
      run.lag ? fmt(run.lag.p99) : 'n/a',
      String(run.freshness.missed),
      `${fmt(run.registerSeconds)} / ${fmt(run.viewsReadySeconds)}`,
      `${measured.date}, load ${fmtLoad(measured.loadBefore)}`,
    ]),
  );
}

function method(options: FleetResult['options']): string[] {
  const writers =
    options.mode === 'lean'
      ? [
          '- Instances (`--fleet-mode lean`, the default; `fleet-lean.ts`): no `ServiceRegistry` objects, but the',
          "  wire traffic of one. Each instance has the record a registry writes (core's `serializeRecord`, its",
          '  own owner token and `created`), encoded per write by the real gcm codec (`encodeRecord`: the `g2` body',
          '  is reused while the content is the same, a new expiry and its MAC beside it), and written through the',
          "  real Redis store's `put`: `changed: true` on a join or a status change, `changed: false` with the",
          "  duplicate check's expected previous on a routine refresh, the store learning each service's upkeep",
          "  horizon. Each keeps its own store clock (core's `StoreTime`: a `TIME` at its join and every 30 s). One",
          '  wheel of 10 ms buckets schedules each refresh a jittered interval (± 10 %) after the start of the last,',
          `  as the registry's loop does; at most ${LEAN_IN_FLIGHT} puts are in flight. The bulk joins (${LEAN_IN_FLIGHT} at once) start each`,
          "  instance's refreshes at a random point of its first interval, so the fleet refreshes at an even rate",
          '  from the start, as one whose processes started at any time. "Refresh lag" is how late refreshes',
          '  started after they were due (median / p99, ms): the generator falling behind shows there first.',
          `- The instances' ${options.connections} connections auto-pipeline (ioredis \`enableAutoPipelining\`, \`--fleet-pipeline on\`): the`,
          "  puts of one event-loop turn leave in one socket write. A loopback write per command was the generator's",
          '  largest cost; it also means Redis reads several commands per read, so its CPU per command is lower',
          '  than with one connection per instance: read the Redis CPU figures as a lower bound.',
          `- One gcm codec per ${WRITERS_PER_CODEC.toLocaleString('en-US')} instances: a codec remembers the last body of at most 16,384 records,`,
          "  so one for the whole fleet would seal every record anew at each refresh (a fresh IV, readers' caches",
          '  missed), which a real process with its one record never does. The store objects (and so the upkeep',
          '  horizons they learn) are shared by the instances of a connection: a process of its own would learn',
          "  its service's horizon from its own puts only, and ask Redis (a `ZSCORE` inside the script) a little more often.",
          "- The part runs in a process of its own started with `--max-semi-space-size=64`: with V8's default young",
          '  generation the generator spent about 30 % of its CPU in garbage collection at 50,000 instances.',
          '- `--fleet-mode registry` keeps the former generator: a real `ServiceRegistry` per instance with its own',
          '  refresh loop (about 260 µs of client CPU per refresh: 20,000 instances at most on these 2 cores).',
        ]
      : [
          '- Every instance is a real `ServiceRegistry` with its own refresh loop (`--fleet-mode registry`: jittered',
          '  interval, `changed: false` on routine refreshes, the duplicate check inside the put, a store-clock resync',
          `  every 30 s), one gcm codec per ${WRITERS_PER_CODEC.toLocaleString('en-US')} registries.`,
        ];
  return [
    'Method (`packages/bench/src/fleet.ts`, `fleet-load.ts`, `fleet-lean.ts`, `fleet-writers.ts`, `fleet-server.ts`; ' +
      '`pnpm bench --only fleet`, sizes by `--fleet-instances`, `--fleet-services`, `--fleet-views`, ' +
      '`--fleet-view-services`, `--fleet-seconds`, `--fleet-churn`, `--fleet-connections`, ' +
      '`--fleet-topologies single,cluster`, `--fleet-mode lean|registry`, `--fleet-pipeline on|off`; ' +
      '`--fleet-save FILE` keeps the raw result, `--fleet-render FILE[,FILE...]` renders kept results, the first ' +
      'as the section, the others as "other runs"; this section\'s are in `packages/bench/bench-results/fleet-*.json`):',
    '',
    ...writers,
    '- Every view is a real `createDiscovery` over the real Redis store. Instances and views share a few command',
    `  connections (${options.connections} for the instances, ${options.connections} for the views) instead of one per process; each view has its own`,
    '  store object and so its own subscriber connection, as separate processes would.',
    '- This part starts its own redis-server and its own 3-master Cluster on free ports (no other load, no',
    '  unrelated keys) and measures INFO cpu, stats and commandstats of every master over the window, after',
    '  one interval of warm-up. "Redis CPU" is user + sys of the server process; the Cluster table shows the',
    '  main thread of each master. "Generator CPU" is the whole bench process: the instances, the views and',
    '  the churn.',
    '- Freshness: every churn event is timed from its call (join, status change, deregister) to the',
    "  `added`, `removed` or `updated` event in each view holding that service; staleness samples views'",
    '  `snapshot()`.',
  ];
}

export function renderFleetSection(
  input: { measured: Measured; fleet: FleetResult },
  others: readonly FleetAttempt[] = [],
): string {
  const { options, runs } = input.fleet;
  const size = (value: number) => value.toLocaleString('en-US');
  const single = runs.find((run) => run.topology === 'single');
  return [
    `## Fleet: ${size(options.instances)} instances and ${size(options.views)} views`,
    '',
    measuredLine(input.measured),
    '',
    `${size(options.instances)} registrations over ${size(options.services)} services (ttl ${TTL_SECONDS} s, interval ` +
      `${INTERVAL_SECONDS} s: a target of ${size(options.instances / INTERVAL_SECONDS)} refreshes/s), ${size(options.views)} views of ` +
      `${options.viewServices} services each, ${options.churnPerSecond} churn events/s (joins, status changes, leaves in turn), ` +
      `a ${options.seconds} s window; instances simulated in \`${options.mode}\` mode. The load generator runs in the bench ` +
      'process, on the same 2 cores as Redis.',
    '',
    markdownTable(
      [
        'Redis',
        'refreshes/s achieved / target',
        'Redis CPU (one core = 100 %)',
        'commands/s',
        'net in',
        'net out',
        'Redis CPU µs per refresh',
        'generator CPU',
        'refresh lag ms',
        'machine busy',
      ],
      runs.map(runRow),
    ),
    '',
    ...[input, ...others]
      .flatMap(({ fleet }) => fleet.runs.map((run) => ({ run, fleet })))
      .filter(({ run }) => run.nodes.length > 1)
      .flatMap(({ run, fleet }) => [
        `How the Cluster spread the load (${size(fleet.options.instances)} instances, ${size(fleet.options.views)} views, ` +
          `${fmt(run.refreshesPerSecond)} of ${fmt(run.targetRefreshesPerSecond)} refreshes/s):`,
        '',
        markdownTable(
          ['master', 'main-thread CPU', 'commands/s (share)', 'net in', 'net out', 'clients', 'used memory'],
          spreadRows(run),
        ),
        '',
      ]),
    ...(single
      ? [
          'Server time by command on one redis-server (INFO commandstats; calls made inside scripts included):',
          '',
          markdownTable(['command', 'calls/s', 'µs per call', 'share of server time'], topCommands(single)),
          '',
        ]
      : []),
    "View freshness: from the write's call to its effect in every view holding the service (ms):",
    '',
    markdownTable(
      ['change', 'median (p10–p90)', 'max', 'samples'],
      [
        ...runs.flatMap((run) => freshnessRows(run)),
        // Other runs that kept up: their freshness is as much a result (the Cluster's, most of all).
        ...others.flatMap(({ fleet }) =>
          fleet.runs
            .filter((run) => run.refreshesPerSecond >= 0.95 * run.targetRefreshesPerSecond)
            .flatMap((run) =>
              freshnessRows(run, `${run.topology}, ${size(fleet.options.instances)} instances`),
            ),
        ),
      ],
    ),
    '',
    ...runs.map(
      (run) =>
        `- ${run.topology}: ${run.freshness.missed} view updates missed (not seen 2 s after the window); sampled snapshots ` +
        `(20 views a second, ${run.staleness.samples} samples): ${pct(run.staleness.staleShare)} stale, largest \`ageMs\` ` +
        `${fmt(run.staleness.maxAgeMs)}; ${size(run.cachedInstances)} instances cached over all views; registering took ` +
        `${fmt(run.registerSeconds)} s, loading the views ${fmt(run.viewsReadySeconds)} s; ${run.refreshFailures} refreshes failed, ` +
        `${run.foreignPrevious} duplicate checks found another writer's value; ` +
        (run.lag ? `largest backlog of due refreshes ${size(run.lag.backlogMax)}; ` : '') +
        `bench process ${fmt(run.rssMiB)} MiB RSS, ${fmt(run.heapMiB)} MiB heap, young generation ${fmt(run.newSpaceMiB)} MiB.`,
    ),
    '',
    ...(others.length > 0
      ? [
          'Other runs (each its own run of this part, kept with `--fleet-save`; instances / services / views):',
          '',
          markdownTable(
            [
              'fleet',
              'Redis, mode',
              'refreshes/s achieved / target',
              'Redis CPU',
              'commands/s',
              'generator CPU',
              'lag p99 ms',
              'updates missed',
              'register / views s',
              'measured',
            ],
            attemptRows(others),
          ),
          '',
        ]
      : []),
    'Reading:',
    '',
    ...reading([input.fleet, ...others.map((other) => other.fleet)]),
    '',
    ...method(options),
  ].join('\n');
}
