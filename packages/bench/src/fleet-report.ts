// The fleet section of BENCHMARKS.md: 100,000 instances and 1,000 views on one Redis and on a
// 3-master Cluster, with the achieved refresh rate, per-refresh server costs and where the first limit is.

import type { FleetResult, FleetRun } from './fleet.js';
import { INTERVAL_SECONDS, TTL_SECONDS } from './fleet.js';
import { fmt, fmtSpread, type Measured, markdownTable, measuredLine, sum } from './lib.js';

const pct = (share: number) => `${(share * 100).toFixed(0)} %`;
const kib = (bytes: number) => `${fmt(bytes / 1024)} KiB/s`;

function totals(run: FleetRun) {
  const cpu = sum(run.nodes.map((node) => node.cpu));
  const main = sum(run.nodes.map((node) => node.mainThreadCpu));
  const commands = sum(run.nodes.map((node) => node.commandsPerSecond));
  const netIn = sum(run.nodes.map((node) => node.netInPerSecond));
  const netOut = sum(run.nodes.map((node) => node.netOutPerSecond));
  const perRefresh = run.refreshesPerSecond > 0 ? 1 / run.refreshesPerSecond : Number.NaN;
  return {
    cpu,
    main,
    commands,
    netIn,
    netOut,
    cpuUsPerRefresh: cpu * 1e6 * perRefresh,
    commandsPerRefresh: commands * perRefresh,
    inPerRefresh: netIn * perRefresh,
    outPerRefresh: netOut * perRefresh,
    /** Redis CPU at the target rate, scaled linearly from this run (share of one core, all masters). */
    cpuAtTarget: cpu * (run.targetRefreshesPerSecond / run.refreshesPerSecond),
    busiest: Math.max(...run.nodes.map((node) => node.mainThreadCpu)),
  };
}

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

function freshnessRows(run: FleetRun): string[][] {
  const { join, leave, status } = run.freshness;
  return [
    ['join (`register()`)', fmtSpread(join), fmt(join.max), String(join.n)],
    ['leave (`close()`: deregister)', fmtSpread(leave), fmt(leave.max), String(leave.n)],
    ['status change (`setStatus()`)', fmtSpread(status), fmt(status.max), String(status.n)],
  ].map((row) => [`${run.topology}: ${row[0]}`, ...(row.slice(1) as string[])]);
}

/** Where the first limit is, from this run's own figures. */
function reading(result: FleetResult): string[] {
  const single = result.runs.find((run) => run.topology === 'single');
  const cluster = result.runs.find((run) => run.topology === 'cluster');
  const lines: string[] = [];
  if (single) {
    const total = totals(single);
    const reached = single.refreshesPerSecond / single.targetRefreshesPerSecond;
    lines.push(
      `- One redis-server: the generator achieved ${pct(reached)} of the target rate (${fmt(single.refreshesPerSecond)} of ` +
        `${fmt(single.targetRefreshesPerSecond)} refreshes/s)${reached < 0.95 ? ': it could not keep up, so read the per-refresh costs' : ''}. ` +
        `Per refresh (all traffic of the window, views and churn included, divided by refreshes) Redis spent ` +
        `${fmt(total.cpuUsPerRefresh)} µs of CPU, ${fmt(total.commandsPerRefresh)} commands (script-inner calls included), ` +
        `${fmt(total.inPerRefresh)} bytes in and ${fmt(total.outPerRefresh)} bytes out. At the full ${fmt(single.targetRefreshesPerSecond)}/s that ` +
        `is about ${pct(total.cpuAtTarget)} of one core for Redis, against ${pct(single.generatorCpu * (single.targetRefreshesPerSecond / single.refreshesPerSecond))} ` +
        'of a core for the generator (the real `ServiceRegistry` code: encryption, the refresh loop, ioredis).',
    );
  }
  if (cluster && single) {
    const total = totals(cluster);
    const hottest = [...cluster.nodes].sort(
      (left, right) => right.commandsPerSecond - left.commandsPerSecond,
    )[0];
    const share = hottest ? hottest.commandsPerSecond / total.commands : Number.NaN;
    lines.push(
      `- Cluster: at ${fmt(cluster.refreshesPerSecond)} refreshes/s the busiest master's main thread ran at ` +
        `${pct(total.busiest)} of a core (the single server's: ${pct(totals(single).busiest)}), and took ${pct(share)} of ` +
        "all commands. Records spread over the masters by their service's hash slot, but on a Cluster every " +
        "refresh also touches the namespace's directory (a second script call, `touch-service`, in the " +
        "directory's one slot), so the master holding that slot carries one call per refresh of the whole " +
        `fleet: ${fmt(total.commandsPerRefresh)} commands per refresh in all against ${fmt(totals(single).commandsPerRefresh)} on one server. ` +
        'The Cluster spreads the record writes and the reads, not that directory touch.',
    );
    if (cluster.registerSeconds > 5 * single.registerSeconds) {
      lines.push(
        `- The Cluster client was the generator's bottleneck here: registering took ${fmt(cluster.registerSeconds)} s against ` +
          `${fmt(single.registerSeconds)} s on one server, and loading the views ${fmt(cluster.viewsReadySeconds)} s against ` +
          `${fmt(single.viewsReadySeconds)} s, while every master stayed far from busy: the time went to the client side ` +
          '(ioredis `Cluster` routing, two script calls per refresh, one `Cluster` subscriber per view). ' +
          'A refresh rate above the target means loops catching up after refreshes that timed out.',
      );
    }
  }
  const base = single ?? cluster;
  if (base) {
    const total = totals(base);
    const ceiling = 1e6 / total.cpuUsPerRefresh;
    const generatorPerRefreshUs = (base.generatorCpu * 1e6) / base.refreshesPerSecond;
    lines.push(
      `- Where the first limit is: by this run's per-refresh cost one Redis core runs out near ${fmt(ceiling)} ` +
        `refreshes/s (${fmt(ceiling * INTERVAL_SECONDS)} instances at interval ${INTERVAL_SECONDS} s, if nothing else ran on it), and ` +
        `the generator spent ${fmt(generatorPerRefreshUs)} µs of CPU per refresh (${pct((generatorPerRefreshUs * base.targetRefreshesPerSecond) / 1e6)} of a core at the target rate). ` +
        `At 100,000 instances (10,000 refreshes/s) these costs scale to ${pct((total.cpuUsPerRefresh * 10_000) / 1e6)} of a core for Redis ` +
        `and ${pct((generatorPerRefreshUs * 10_000) / 1e6)} for a generator like this one. ` +
        "Redis's single command thread is the server's first limit; on this 2-core machine the client " +
        'side, 100,000 registries in one Node process, saturates a core first. Views are not the limit: ' +
        'routine refreshes send no notice (`changed: false`), a view sends one probe per ttl - interval, ' +
        "and each change costs one PUBLISH delivered to that service's views only, plus one re-read per view.",
    );
  }
  lines.push(
    '- What a user does past it: a Cluster spreads records and reads (the directory touch stays on one ' +
      'master); a longer interval cuts the refresh rate in proportion (ttl 60 / interval 20 halves it); a ' +
      'process holds a view of only the services it calls (a view costs Redis one probe per ttl - interval ' +
      'and one re-read per change of a held service); and one view per process, not one per request.',
  );
  return lines;
}

export function renderFleetSection(input: { measured: Measured; fleet: FleetResult }): string {
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
      `a ${options.seconds} s window. The load generator runs in the bench process, on the same 2 cores as Redis.`,
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
        'machine busy',
      ],
      runs.map(runRow),
    ),
    '',
    ...runs
      .filter((run) => run.nodes.length > 1)
      .flatMap((run) => [
        'How the Cluster spread the load:',
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
    markdownTable(['change', 'median (p10–p90)', 'max', 'samples'], runs.flatMap(freshnessRows)),
    '',
    ...runs.map(
      (run) =>
        `- ${run.topology}: ${run.freshness.missed} view updates missed (not seen 2 s after the window); sampled snapshots ` +
        `(20 views a second, ${run.staleness.samples} samples): ${pct(run.staleness.staleShare)} stale, largest \`ageMs\` ` +
        `${fmt(run.staleness.maxAgeMs)}; ${size(run.cachedInstances)} instances cached over all views; registering took ` +
        `${fmt(run.registerSeconds)} s, loading the views ${fmt(run.viewsReadySeconds)} s; ${run.refreshFailures} refreshes failed; ` +
        `bench process ${fmt(run.rssMiB)} MiB RSS, ${fmt(run.heapMiB)} MiB heap.`,
    ),
    '',
    'Reading:',
    '',
    ...reading(input.fleet),
    '',
    'Method (`packages/bench/src/fleet.ts`, `fleet-load.ts`, `fleet-server.ts`; `pnpm bench --only fleet`, ' +
      'sizes by `--fleet-instances`, `--fleet-services`, `--fleet-views`, `--fleet-view-services`, ' +
      '`--fleet-seconds`, `--fleet-churn`, `--fleet-connections`, `--fleet-topologies single,cluster`):',
    '',
    '- Every instance is a real `ServiceRegistry` with its own refresh loop (jittered interval, `changed: false`',
    '  on routine refreshes, the duplicate check inside the put, a store-clock resync every 30 s), every view a',
    '  real `createDiscovery` over the real Redis store. They share a few command connections',
    `  (${options.connections} for the instances, ${options.connections} for the views) instead of one per process; each view has its own`,
    '  store object and so its own subscriber connection, as separate processes would. Commands from a few',
    '  busy connections reach Redis batched, so Redis CPU per command is somewhat lower than with 100,000',
    '  connections each sending one command every 10 s: read the CPU figures as a lower bound.',
    '- This part starts its own redis-server and its own 3-master Cluster on free ports (no other load, no',
    '  unrelated keys) and measures INFO cpu, stats and commandstats of every master over the window, after',
    '  one interval of warm-up. "Redis CPU" is user + sys of the server process; the Cluster table shows the',
    '  main thread of each master.',
    '- Freshness: every churn event is timed from its call (`register()`, `close()`, `setStatus()`) to the',
    "  `added`, `removed` or `updated` event in each view holding that service; staleness samples views'",
    '  `snapshot()`.',
  ].join('\n');
}
