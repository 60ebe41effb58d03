// The fleet section's reading: where the first limit is, from the run's own figures, and an
// extrapolation to the issue's 100,000 instances when the run was smaller (labelled as one).

import type { FleetResult, FleetRun } from './fleet.js';
import { INTERVAL_SECONDS, TTL_SECONDS } from './fleet.js';
import { fmt, sum } from './lib.js';

/** The issue's fleet: 100,000 instances at interval 10 s. */
export const ISSUE_INSTANCES = 100_000;

export const pct = (share: number) => `${(share * 100).toFixed(0)} %`;
export const kib = (bytes: number) => `${fmt(bytes / 1024)} KiB/s`;

export function totals(run: FleetRun) {
  const cpu = sum(run.nodes.map((node) => node.cpu));
  const main = sum(run.nodes.map((node) => node.mainThreadCpu));
  const commands = sum(run.nodes.map((node) => node.commandsPerSecond));
  const netIn = sum(run.nodes.map((node) => node.netInPerSecond));
  const netOut = sum(run.nodes.map((node) => node.netOutPerSecond));
  const perRefresh = run.refreshesPerSecond > 0 ? 1 / run.refreshesPerSecond : Number.NaN;
  const busiestNode = [...run.nodes].sort((left, right) => right.mainThreadCpu - left.mainThreadCpu)[0];
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
    /** The bench process's CPU per refresh, µs (generator, views and churn together). */
    generatorUsPerRefresh: run.generatorCpu * 1e6 * perRefresh,
    busiest: busiestNode?.mainThreadCpu ?? Number.NaN,
    busiestUsPerRefresh: (busiestNode?.mainThreadCpu ?? Number.NaN) * 1e6 * perRefresh,
    busiestShare: busiestNode ? busiestNode.commandsPerSecond / commands : Number.NaN,
  };
}

const rate = (instances: number) => instances / INTERVAL_SECONDS;
const share = (usPerRefresh: number, refreshesPerSecond: number) => (usPerRefresh * refreshesPerSecond) / 1e6;

function singleLine(run: FleetRun): string {
  const total = totals(run);
  const reached = run.refreshesPerSecond / run.targetRefreshesPerSecond;
  const lag = run.lag
    ? ` Refreshes started a median ${fmt(run.lag.late.median)} ms after they were due (p99 ${fmt(run.lag.p99)} ms, at most ${fmt(run.lag.late.max)} ms).`
    : '';
  return (
    `- One redis-server: the generator achieved ${pct(reached)} of the target rate (${fmt(run.refreshesPerSecond)} of ` +
    `${fmt(run.targetRefreshesPerSecond)} refreshes/s)${reached < 0.95 ? ': it could not keep up, so read the per-refresh costs' : ''}.${lag} ` +
    'Per refresh (all traffic of the window, views, probes and churn included, divided by refreshes) Redis spent ' +
    `${fmt(total.cpuUsPerRefresh)} µs of CPU, ${fmt(total.commandsPerRefresh)} commands (script-inner calls included), ` +
    `${fmt(total.inPerRefresh)} bytes in and ${fmt(total.outPerRefresh)} bytes out; the bench process (generator, views ` +
    `and churn) ${fmt(total.generatorUsPerRefresh)} µs.`
  );
}

function clusterLine(sized: SizedRun, singleSized: SizedRun | undefined): string {
  const cluster = sized.run;
  const single = singleSized?.run;
  const total = totals(cluster);
  const against = single ? totals(single) : undefined;
  return (
    `- Cluster (${sizeOf(sized)}): at ${fmt(cluster.refreshesPerSecond)} refreshes/s (${pct(cluster.refreshesPerSecond / cluster.targetRefreshesPerSecond)} of the target) ` +
    `the busiest master's main thread ran at ${pct(total.busiest)} of a core` +
    `${against && singleSized ? ` (one redis-server's, ${sizeOf(singleSized)}: ${pct(against.busiest)})` : ''} and took ${pct(total.busiestShare)} of all commands. ` +
    "Records spread over the masters by their service's hash slot. A routine refresh goes to its record's master " +
    "alone (`SET`, `ZADD`, `PTTL` as one pipeline); the namespace's directory, in one slot on one master, gets a " +
    '`touch-service` call only beside the put script (a join, a change, upkeep about once per ttl per service), which ' +
    `extends the service's entry two ttls ahead. ${fmt(total.commandsPerRefresh)} commands per refresh in all` +
    `${against ? ` against ${fmt(against.commandsPerRefresh)} on one server` : ''}` +
    (total.busiestShare > 0.5
      ? ': one master still takes most of the commands, which caps the Cluster.'
      : ': no master takes much more than its third, so the Cluster spreads writes, reads and the directory alike.') +
    ` The client pays ${fmt(total.generatorUsPerRefresh)} µs of bench-process CPU per refresh` +
    `${against ? ` against ${fmt(against.generatorUsPerRefresh)} on one server` : ''} (ioredis \`Cluster\` routing, a pipeline per refresh).`
  );
}

/** A run with the size of the fleet it ran. */
interface SizedRun {
  readonly run: FleetRun;
  readonly options: FleetResult['options'];
}

const sizeOf = ({ options }: SizedRun) =>
  `${options.instances.toLocaleString('en-US')} instances, ${options.views.toLocaleString('en-US')} views`;

/** Linear in refreshes/s from each run's per-refresh costs: what the issue's fleet would cost. */
function extrapolation(runs: readonly SizedRun[]): string[] {
  const smaller = runs.filter(({ options }) => options.instances < ISSUE_INSTANCES);
  if (smaller.length === 0) return [];
  const target = rate(ISSUE_INSTANCES);
  const lines = smaller.map((sized) => {
    const { run } = sized;
    const total = totals(run);
    const head =
      run.topology === 'single'
        ? `one redis-server at ${fmt(share(total.cpuUsPerRefresh, target) * 100)} % of one core`
        : `the Cluster's busiest master at ${fmt(share(total.busiestUsPerRefresh, target) * 100)} % of one core (all three: ${fmt(share(total.cpuUsPerRefresh, target) * 100)} %)`;
    return (
      `  - ${run.topology}, from the run of ${sizeOf(sized)} (${fmt(ISSUE_INSTANCES / sized.options.instances)}× scaled): ${head}, ` +
      `${fmt(total.commandsPerRefresh * target)} commands/s, ${kib(total.inPerRefresh * target)} in, ${kib(total.outPerRefresh * target)} out; ` +
      `the bench process at ${fmt(share(total.generatorUsPerRefresh, target) * 100)} % of one core.`
    );
  });
  return [
    `- **Extrapolation, not a measurement**: the issue's ${ISSUE_INSTANCES.toLocaleString('en-US')} instances ` +
      `(${fmt(target)} refreshes/s) and 1,000 views, scaled linearly in refreshes/s from a run's per-refresh costs ` +
      '(views, probes and churn scaled with it):',
    ...lines,
    '  Every cost is scaled, the fixed ones too (the Cluster bus, idle connections, probes): from a smaller run ' +
      'that overstates them, most for the Cluster, whose views probe one service per call.',
  ];
}

/**
 * `peer`: a single-server run of the Cluster run's size. The Cluster's ceiling is then this run's
 * single-server ceiling times how much less its busiest master did than that server at equal size
 * (fixed costs weigh alike); without one, from the Cluster run's own cost, fixed costs included.
 */
function limitLine(base: FleetRun, cluster: FleetRun | undefined, peer: FleetRun | undefined): string {
  const total = totals(base);
  const ceiling = 1e6 / total.cpuUsPerRefresh;
  const clusterCeiling = !cluster
    ? Number.NaN
    : peer
      ? ceiling * (totals(peer).busiestUsPerRefresh / totals(cluster).busiestUsPerRefresh)
      : 1e6 / totals(cluster).busiestUsPerRefresh;
  const generatorCeiling = 1e6 / total.generatorUsPerRefresh;
  const clientFirst = total.generatorUsPerRefresh > total.cpuUsPerRefresh;
  return (
    `- Where the first limit is. On this machine: ${clientFirst ? 'the client side' : 'Redis'}. The bench process needs ` +
    `${fmt(total.generatorUsPerRefresh)} µs of CPU per refresh against Redis's ${fmt(total.cpuUsPerRefresh)} µs, so one core of ` +
    `generator drives about ${fmt(generatorCeiling)} refreshes/s (${fmt(generatorCeiling * INTERVAL_SECONDS)} instances)` +
    (clientFirst
      ? ` while Redis would still have ${pct(1 - share(total.cpuUsPerRefresh, generatorCeiling))} of its core left; with Redis ` +
        "and other sessions' work on the same 2 cores " +
        `(machine ${base.machineBusy === undefined ? 'n/a' : pct(base.machineBusy)} busy in this window) the generator saturates first. `
      : '. ') +
    `In a real fleet that client work is spread over the instances' own hosts, and the first limit is Redis's single ` +
    `command thread: by this run's cost one redis-server runs out near ${fmt(ceiling)} refreshes/s ` +
    `(${fmt(ceiling * INTERVAL_SECONDS)} instances at interval ${INTERVAL_SECONDS} s, if nothing else ran on it)` +
    (cluster
      ? `, and a 3-master Cluster near ${fmt(clusterCeiling)} refreshes/s (${fmt(clusterCeiling * INTERVAL_SECONDS)} instances; ` +
        (peer
          ? `its busiest master did ${fmt(totals(cluster).busiestUsPerRefresh)} µs of main-thread work per refresh where one server of the same size did ` +
            `${fmt(totals(peer).busiestUsPerRefresh)}, an estimate)`
          : 'from its own per-refresh cost, fixed costs included)') +
        (totals(cluster).busiestShare > 0.5
          ? ", where the master holding the directory's slot runs out first: the Cluster does not multiply the ceiling by three."
          : "; the busiest master is the one holding the busiest services' slots, so an even spread of services over the slots matters more than the directory.")
      : '.') +
    ' Views are not the limit while the writers keep up: routine refreshes send no notice (`changed: false`), a view ' +
    "sends one probe per ttl - interval, and each change costs one PUBLISH to that service's views plus one re-read per view. " +
    'They become one when writers fall behind: a refresh later than the ttl lets a record expire, its next write is a ' +
    'join again (a PUBLISH), and every view holding the service re-reads it, which slows the writers further.'
  );
}

/**
 * `results`: the section's run first, then other runs; the reading takes its single-server figures
 * from the first single run and its Cluster figures from the first Cluster run that kept up.
 */
export function reading(results: readonly FleetResult[]): string[] {
  const sized = results.flatMap((result) => result.runs.map((run) => ({ run, options: result.options })));
  const keptUp = (topology: FleetRun['topology']) =>
    sized.find(
      ({ run }) => run.topology === topology && run.refreshesPerSecond >= 0.95 * run.targetRefreshesPerSecond,
    ) ?? sized.find(({ run }) => run.topology === topology);
  const single = keptUp('single');
  const cluster = keptUp('cluster');
  const base = single ?? cluster;
  const peer = cluster
    ? sized.find(
        ({ run, options }) => run.topology === 'single' && options.instances === cluster.options.instances,
      )
    : undefined;
  return [
    ...(single ? [singleLine(single.run)] : []),
    // The Cluster against one server of the same size when there is such a run.
    ...(cluster ? [clusterLine(cluster, peer ?? single)] : []),
    ...extrapolation([single, cluster].filter((item): item is SizedRun => item !== undefined)),
    ...(base ? [limitLine(base.run, cluster?.run, peer?.run)] : []),
    ...sized
      .filter(({ run }) => run.refreshesPerSecond < 0.95 * run.targetRefreshesPerSecond)
      .map(
        (item) =>
          `- Did not keep up: ${sizeOf(item)} on ${item.run.topology === 'single' ? 'one redis-server' : 'the Cluster'} reached ` +
          `${pct(item.run.refreshesPerSecond / item.run.targetRefreshesPerSecond)} of its ${fmt(item.run.targetRefreshesPerSecond)} refreshes/s ` +
          `(bench process at ${pct(item.run.generatorCpu)} of a core, Redis at ${pct(totals(item.run).cpu)}; registering took ` +
          `${fmt(item.run.registerSeconds)} s, opening the views ${fmt(item.run.viewsReadySeconds)} s; ${item.run.freshness.missed} view updates missed): ` +
          `past what one Node process drives on these shared cores (machine ${item.run.machineBusy === undefined ? 'n/a' : pct(item.run.machineBusy)} busy)` +
          (item.run.freshness.missed > 0 || (item.run.lag?.p99 ?? 0) > (TTL_SECONDS - INTERVAL_SECONDS) * 1000
            ? ', and the writers falling behind turned into the re-read storm above.'
            : `: refreshes ran late (p99 ${fmt(item.run.lag?.p99 ?? Number.NaN)} ms after due) but within the ttl, so no record lapsed in the window.`),
      ),
    '- What a user does past it: a Cluster spreads records, reads and (since routine refreshes leave it alone) ' +
      'the directory; a longer interval cuts the refresh rate in proportion (ttl 60 / interval 20 ' +
      'halves it, and every figure above with it); a process holds a view of only the services it calls (a ' +
      'view costs Redis one probe per ttl - interval and one re-read per change of a held service); one view ' +
      'per process, not one per request; and past one Cluster, a namespace per group of services on Redis ' +
      'servers of their own.',
  ];
}
