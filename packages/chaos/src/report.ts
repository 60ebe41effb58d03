import type { DeadCheck, FailureSplit, Gap, RecoveryCheck } from './analysis.js';
import type { FaultCounters } from './fault-proxy.js';
import type { ReshardReport } from './reshard-phase.js';
import type { FaultKind } from './schedule.js';
import type { DelayFigures, ViewsReport } from './summarize-views.js';

/** Everything a chaos run measured; saved as JSON, rendered as markdown and on the console. */
export interface ChaosReport {
  readonly passed: boolean;
  /** The reshard phase on a Redis Cluster, run after the main phase (see reshard-phase.ts). */
  readonly reshard?: ReshardReport;
  /** One line per broken bound; empty when the run passed. */
  readonly violations: string[];
  readonly startedAt: string;
  readonly machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    os: string;
    node: string;
    redis: string;
  };
  readonly config: {
    quick: boolean;
    seed: number;
    instances: number;
    ttlSeconds: number;
    intervalSeconds: number;
    observerPollMs: number;
    proxiedReaderPollMs: number;
  };
  readonly bounds: { deadMs: number; recoveryMs: number };
  /** Wall-clock phases, in ms: start-up until every first instance was listed, chaos, drain, whole run. */
  readonly durations: { startupMs: number; chaosMs: number; drainMs: number; totalMs: number };
  readonly processes: {
    spawned: number;
    killed: number;
    /** Exits the orchestrator did not cause (any code or signal), instances plus the orchestrator. */
    crashes: number;
    uncaughtExceptions: number;
    unhandledRejections: number;
    /** Instances that did not exit within the grace period after the final SIGTERM. */
    stuckAtStop: number;
    /** Spawn to first listed by the observer, in ms. */
    worstRegistrationMs: number;
    crashDetails: string[];
  };
  readonly instanceEvents: {
    refreshFailed: number;
    recovered: number;
    worstDowntimeMs: number;
    loggedErrors: number;
  };
  readonly restarts: {
    kind: 'graceful' | 'crash';
    atMs: number;
    outageMs: number;
    checked: number;
    violations: number;
    worstMissingUntilMs: number;
    worstBackByMs: number | null;
  }[];
  readonly dead: {
    checked: number;
    violations: number;
    /** Largest `listedAfterKillMs` (lower bound), and its margin to the bound (negative: within). */
    worstListedAfterKillMs: number;
    worstOvershootMs: number;
    /** Largest `goneByMs` (upper bound, includes the observer's poll period). */
    worstGoneByMs: number;
  };
  readonly faults: {
    phases: Record<FaultKind, number>;
    timeMs: Record<FaultKind, number>;
    /** Share of the chaos phase with a fault on. */
    share: number;
    /** Each phase, in ms from the start of the chaos phase. */
    timeline: { kind: FaultKind; fromMs: number; toMs: number }[];
    proxy: FaultCounters;
  };
  readonly readers: {
    label: string;
    polls: number;
    failures: FailureSplit;
    failuresByCode: Record<string, number>;
    worstPollGapMs: number;
  }[];
  /** Discovery views beside the bare find() observer: restart coverage, kills, joins, deregistrations. */
  readonly views: ViewsReport;
  readonly gaps: {
    count: number;
    instances: number;
    worstMs: number;
    /** Gaps with no proxy fault on during them or the ttl before: nothing explains those. */
    withoutFault: number;
    worst: (Gap & { faults: FaultKind[] })[];
  };
  /** The worst individual checks, for a look at what happened. */
  readonly details: { worstDead: DeadCheck[]; worstRecovery: (RecoveryCheck & { restart: number })[] };
}

const seconds = (ms: number | null): string => (ms === null ? 'never' : `${(ms / 1000).toFixed(2)} s`);

function reshardLine(reshard: ReshardReport): string {
  const moves = reshard.reshards.map((move) => `${move.slots} slots in ${seconds(move.ms)}`).join(', ');
  return `| reshard phase (Redis Cluster, 3 masters, \`redis-cli --cluster reshard\`) | ${reshard.instances} instances; ${moves}; ${reshard.finds} finds during and after, ${reshard.failedFinds} failed, ${reshard.incompleteFinds} missed a live instance; a view of every service: ${reshard.viewIncomplete} of ${reshard.viewSamples} samples missed one, ${reshard.viewRemoved} removed; ${reshard.crashes} crashes; ${seconds(reshard.totalMs)} in all | 0 failed, 0 missed (finds and view), 0 removed, 0 crashes |`;
}

const ms = (value: number | null): string => (value === null ? 'none' : `${Math.round(value)} ms`);
const delayCell = (figures: DelayFigures): string =>
  figures.count === 0
    ? 'none seen'
    : `median ${ms(figures.medianMs)}, worst ${ms(figures.worstMs)} (${figures.count})`;
const reasons = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');

/** The views beside the bare find() observer: one column each. */
function viewsSection(report: ChaosReport): string[] {
  const { views, bounds, restarts } = report;
  const header = ['figure', 'bare find() (observer)', ...views.views.map((view) => view.label), 'bound'];
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [
    '## Through discovery views',
    '',
    `Three \`createDiscovery()\` views in the orchestrator (each its own connection; instances are other OS processes), sampled every ${report.config.observerPollMs} ms beside the bare \`find()\` observer. A restart window runs from Redis going down to ${seconds(views.windowAfterMs)} after it answered.`,
    '',
    row(header),
    row(header.map(() => '---')),
  ];
  views.find.forEach((find, index) => {
    const restart = restarts[index];
    lines.push(
      row([
        `Redis restart ${find.restart} (${restart?.kind ?? '?'}, outage ${seconds(restart?.outageMs ?? null)}): live instances missing`,
        `${find.missing.length} of ${find.judged}; ${find.failedSamples} finds failed, ${find.incompleteSamples} incomplete, until ${seconds(find.lastMissingMs)} after Redis went down`,
        ...views.views.map((view) => {
          const check = view.restarts[index];
          return check
            ? `${check.missing.length} of ${check.judged}${check.removals > 0 ? ` (removed: ${reasons(check.removalReasons)})` : ''}`
            : '-';
        }),
        'views: 0 missing',
      ]),
    );
  });
  lines.push(
    row([
      'SIGKILLed instance: kill to removed (judged; outages and, via the proxy, faults reported only)',
      'see above',
      ...views.views.map(
        (view) =>
          `${delayCell(view.dead.strictFigures)} of ${view.dead.strict} judged, ${view.dead.violations} late; loose worst ${ms(view.dead.looseWorstMs)}; ${reasons(view.dead.reasons)}`,
      ),
      `≤ ttl + 1 s = ${seconds(bounds.deadMs)}`,
    ]),
    row(['`register()` resolved to `added`', '', ...views.views.map((view) => delayCell(view.joins)), '']),
    row([
      'deregistered (delete resolved) to `removed`',
      '',
      ...views.views.map(
        (view) => `${delayCell(view.deregistrations)}; ${reasons(view.deregistrations.reasons)}`,
      ),
      '',
    ]),
    row([
      'stale samples / stale events / guarded events',
      '',
      ...views.views.map(
        (view) => `${view.staleSamples} of ${view.samples} / ${view.staleEvents} / ${view.guardedEvents}`,
      ),
      '',
    ]),
  );
  return lines;
}

/** The report as markdown: what RELIABILITY.md quotes and what the console prints. */
export function renderMarkdown(report: ChaosReport): string {
  const { processes, dead, bounds, faults, config, durations, machine } = report;
  const faultKinds = Object.keys(faults.phases) as FaultKind[];
  const lines = [
    `# Chaos run: ${report.passed ? 'PASSED' : 'FAILED'}`,
    '',
    `${report.startedAt}, ${config.quick ? 'quick' : 'full'} mode, seed ${config.seed}. Machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, Redis ${machine.redis}.`,
    '',
    ...(report.violations.length > 0
      ? ['## Broken bounds', '', ...report.violations.map((v) => `- ${v}`), '']
      : []),
    '| figure | value | bound |',
    '| --- | --- | --- |',
    `| durations | start-up ${seconds(durations.startupMs)}, chaos ${seconds(durations.chaosMs)}, drain ${seconds(durations.drainMs)}, total ${seconds(durations.totalMs)} | |`,
    `| instances (each an OS process), ttl / interval | ${config.instances} live at a time, ${processes.spawned} spawned in all; ${config.ttlSeconds} s / ${config.intervalSeconds} s | |`,
    `| SIGKILLed instances | ${processes.killed} (${dead.checked} judged) | |`,
    `| killed instance still listed after the kill, worst | ${seconds(dead.worstListedAfterKillMs)} (gone by ${seconds(dead.worstGoneByMs)} at the latest: the first answer without it, later when a Redis outage came between) | ≤ ttl + 1 s = ${seconds(bounds.deadMs)}; worst margin ${seconds(-dead.worstOvershootMs)} |`,
    `| killed instances listed past the bound | ${dead.violations} | 0 |`,
    ...report.restarts.map(
      (restart, index) =>
        `| Redis restart ${index + 1} (${restart.kind}, at ${seconds(restart.atMs)}, outage ${seconds(restart.outageMs)}) | ${restart.checked} live instances; missing at most ${seconds(restart.worstMissingUntilMs)} after Redis answered, all back by ${seconds(restart.worstBackByMs)}; ${restart.violations} late | ≤ interval + 1 s = ${seconds(bounds.recoveryMs)} |`,
    ),
    `| crashes (exits nobody caused) | ${processes.crashes} | 0 |`,
    `| uncaught exceptions / unhandled rejections | ${processes.uncaughtExceptions} / ${processes.unhandledRejections} | 0 / 0 |`,
    `| proxy faults | ${faultKinds.map((kind) => `${kind}: ${faults.phases[kind]} phases, ${seconds(faults.timeMs[kind])}`).join('; ')}; on ${(faults.share * 100).toFixed(0)} % of the chaos phase | |`,
    `| what the proxy did | ${faults.proxy.chunksDelayed} chunks delayed (${seconds(faults.proxy.delayTotalMs)} in all), ${faults.proxy.connectionsDropped} connections dropped, ${faults.proxy.connectionsRefused} refused, ${faults.proxy.upstreamFailures} reset while Redis was down, ${faults.proxy.chunksForwarded} chunks forwarded | |`,
    ...report.readers.map(
      (reader) =>
        `| find() by ${reader.label} | ${reader.polls} calls, ${reader.failures.total} failed (${reader.failures.duringOutages} during Redis outages, ${reader.failures.outside} outside), worst poll gap ${seconds(reader.worstPollGapMs)} | every failure a \`store-unavailable\` |`,
    ),
    `| instances' refresh-failed / recovered events | ${report.instanceEvents.refreshFailed} / ${report.instanceEvents.recovered}, longest downtime ${seconds(report.instanceEvents.worstDowntimeMs)} | |`,
    `| live instances missing outside restarts (info: a record lapses when refreshes fail for ttl - interval) | ${report.gaps.count} gaps in ${report.gaps.instances} instances, worst ${seconds(report.gaps.worstMs)}; ${report.gaps.withoutFault} with no proxy fault on | |`,
    `| slowest registration (spawn to listed) | ${seconds(processes.worstRegistrationMs)} | |`,
    `| instances stuck at the final SIGTERM | ${processes.stuckAtStop} | |`,
    ...(report.reshard ? [reshardLine(report.reshard)] : []),
    '',
    ...viewsSection(report),
  ];
  if (processes.crashDetails.length > 0) {
    lines.push('', '## Crashes', '', '```', ...processes.crashDetails, '```');
  }
  return `${lines.join('\n')}\n`;
}
