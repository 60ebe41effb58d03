import {
  checkDead,
  checkRecovery,
  findGaps,
  type Gap,
  type InstanceLife,
  type KillObservation,
  type RestartObservation,
  splitFailures,
  worstPollGapMs,
} from './analysis.js';
import { endingOf, type InstanceProcess } from './children.js';
import type { FaultProxy } from './fault-proxy.js';
import type { ChaosReport } from './report.js';
import { FAULT_KINDS, type FaultKind, type PlannedRestart } from './schedule.js';
import { summarizeViews } from './summarize-views.js';
import type { ViewReader } from './view-watcher.js';
import type { Reader } from './watcher.js';

export interface FaultPhase {
  readonly kind: FaultKind;
  readonly fromAt: number;
  readonly toAt: number;
}

export interface RestartRecord extends RestartObservation {
  readonly kind: PlannedRestart['kind'];
  readonly atMs: number;
}

/** What a run recorded, for `summarize`. */
export interface RunRecord {
  config: ChaosReport['config'];
  machine: ChaosReport['machine'];
  bounds: ChaosReport['bounds'];
  instances: readonly InstanceProcess[];
  kills: readonly KillObservation[];
  restarts: readonly RestartRecord[];
  observer: Reader;
  proxied: Reader;
  /** Discovery views, sampled like the observer; they stay open through the final staggered stop. */
  views: readonly ViewReader[];
  observedUntil: number;
  faultLog: readonly FaultPhase[];
  chaosStartedAt: number;
  proxy: FaultProxy;
  orchestratorIssues: { uncaught: string[]; unhandled: string[] };
  durations: ChaosReport['durations'];
  startedAt: string;
}

/** Turns what a run recorded into its report: the checks of analysis.ts, counts, worst cases. */
export function summarize(input: RunRecord): ChaosReport {
  const { bounds, instances, observer, proxied, restarts, orchestratorIssues } = input;
  const violations: string[] = [];
  const firstListed = new Map<string, number>();
  for (const sample of observer.samples) {
    for (const id of sample.ids ?? []) if (!firstListed.has(id)) firstListed.set(id, sample.at);
  }
  const lives: InstanceLife[] = instances.map((instance) => {
    const ends = [instance.killedAt, instance.stoppingAt, instance.exitedAt].filter(
      (at): at is number => at !== undefined,
    );
    return {
      id: instance.id,
      firstListedAt: firstListed.get(instance.id),
      goneAt: ends.length > 0 ? Math.min(...ends) : undefined,
    };
  });

  const dead = checkDead(input.kills, observer.samples, proxied.samples, bounds.deadMs, input.observedUntil);
  for (const check of dead.filter((c) => c.violated)) {
    violations.push(
      `killed instance ${check.id} still listed ${check.listedAfterKillMs} ms after its SIGKILL (bound ${bounds.deadMs} ms)`,
    );
  }
  const recoveries = restarts.map((restart) =>
    checkRecovery(restart, lives, observer.samples, bounds.recoveryMs, input.config.observerPollMs),
  );
  recoveries.forEach((checks, index) => {
    for (const check of checks.filter((c) => c.violated)) {
      violations.push(
        `restart ${index + 1}: ${check.id} missing until ${check.missingUntilMs} ms after Redis returned (back by ${check.backByMs ?? 'never'}; bound ${bounds.recoveryMs} ms)`,
      );
    }
  });

  const views = summarizeViews({
    views: input.views,
    observer: observer.samples,
    instances,
    lives,
    kills: input.kills,
    restarts,
    faultLog: input.faultLog,
    bounds,
    ttlMs: input.config.ttlSeconds * 1000,
    observedUntil: input.observedUntil,
  });
  violations.push(...views.violations);

  // Crashes: every exit the orchestrator did not cause, and every crash line (also during the final stop).
  const crashDetails: string[] = [];
  let uncaught = orchestratorIssues.uncaught.length;
  let unhandled = orchestratorIssues.unhandled.length;
  let crashes = orchestratorIssues.uncaught.length;
  let stuckAtStop = 0;
  const events = { refreshFailed: 0, recovered: 0, worstDowntimeMs: 0, loggedErrors: 0 };
  for (const instance of instances) {
    const ending = endingOf(instance);
    if (ending === 'crashed') {
      crashes++;
      crashDetails.push(
        `${instance.id}: exit ${JSON.stringify(instance.exit)}; last output:`,
        ...instance.stray.slice(-5).map((line) => `  ${line}`),
      );
    }
    if (ending === 'stuck-at-stop') stuckAtStop++;
    for (const line of instance.lines) {
      if (line.type === 'crash') {
        if (line.kind === 'uncaughtException') uncaught++;
        else unhandled++;
        crashDetails.push(
          `${instance.id}: ${line.kind}: ${line.message}`,
          ...(line.stack ? [line.stack] : []),
        );
      } else if (line.type === 'refresh-failed') events.refreshFailed++;
      else if (line.type === 'recovered') {
        events.recovered++;
        events.worstDowntimeMs = Math.max(events.worstDowntimeMs, line.downtimeMs);
      } else if (line.type === 'log-error') events.loggedErrors++;
    }
  }
  crashDetails.push(
    ...orchestratorIssues.uncaught.map((error) => `orchestrator: uncaughtException: ${error}`),
  );
  crashDetails.push(
    ...orchestratorIssues.unhandled.map((error) => `orchestrator: unhandledRejection: ${error}`),
  );
  if (crashes > 0) violations.push(`${crashes} process(es) crashed`);
  if (uncaught > 0) violations.push(`${uncaught} uncaught exception(s)`);
  if (unhandled > 0) violations.push(`${unhandled} unhandled rejection(s)`);
  for (const reader of [observer, proxied]) violations.push(...reader.unexpected);

  const registrationTimes = instances
    .map((instance) => (firstListed.get(instance.id) ?? Number.NaN) - instance.spawnedAt)
    .filter((ms) => Number.isFinite(ms));
  // A record lapses when its refreshes failed for about ttl - interval: look that far back for a fault.
  const faultsBehind = (gap: Gap) =>
    input.faultLog.filter(
      (phase) => phase.fromAt <= gap.toAt && phase.toAt >= gap.fromAt - input.config.ttlSeconds * 1000,
    );
  const gaps = findGaps(lives, observer.samples, restarts, bounds.recoveryMs)
    .map((gap) => ({ ...gap, faults: [...new Set(faultsBehind(gap).map((phase) => phase.kind))] }))
    .sort((a, b) => b.ms - a.ms);
  const phases = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  const faultTimeMs = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  for (const phase of input.faultLog) {
    phases[phase.kind]++;
    faultTimeMs[phase.kind] += phase.toAt - phase.fromAt;
  }
  const judgedDead = dead.filter((check) => check.listedAfterKillMs !== null);
  const worstListed = Math.max(0, ...judgedDead.map((check) => check.listedAfterKillMs as number));
  const faultTotal = Object.values(faultTimeMs).reduce((sum, ms) => sum + ms, 0);
  const flatRecoveries = recoveries.flatMap((checks, index) =>
    checks.map((check) => ({ ...check, restart: index + 1 })),
  );

  return {
    passed: violations.length === 0,
    violations,
    startedAt: input.startedAt,
    machine: input.machine,
    config: input.config,
    bounds,
    durations: input.durations,
    processes: {
      spawned: instances.length,
      killed: input.kills.length,
      crashes,
      uncaughtExceptions: uncaught,
      unhandledRejections: unhandled,
      stuckAtStop,
      worstRegistrationMs: Math.max(0, ...registrationTimes),
      crashDetails: crashDetails.slice(0, 60),
    },
    instanceEvents: events,
    restarts: restarts.map((restart, index) => {
      const checks = recoveries[index] ?? [];
      const backBys = checks.map((check) => check.backByMs);
      return {
        kind: restart.kind,
        atMs: restart.atMs,
        outageMs: restart.backAt - restart.downAt,
        checked: checks.length,
        violations: checks.filter((check) => check.violated).length,
        worstMissingUntilMs: Math.max(0, ...checks.map((check) => check.missingUntilMs)),
        worstBackByMs: backBys.includes(null) ? null : Math.max(0, ...(backBys as number[])),
      };
    }),
    dead: {
      checked: dead.length,
      violations: dead.filter((check) => check.violated).length,
      worstListedAfterKillMs: worstListed,
      worstOvershootMs: worstListed - bounds.deadMs,
      worstGoneByMs: Math.max(0, ...dead.map((check) => check.goneByMs ?? 0)),
    },
    faults: {
      phases,
      timeMs: faultTimeMs,
      timeline: input.faultLog.map((phase) => ({
        kind: phase.kind,
        fromMs: phase.fromAt - input.chaosStartedAt,
        toMs: phase.toAt - input.chaosStartedAt,
      })),
      share: input.durations.chaosMs > 0 ? faultTotal / input.durations.chaosMs : 0,
      proxy: { ...input.proxy.counters },
    },
    readers: [observer, proxied].map((reader) => ({
      label: reader.label,
      polls: reader.samples.length,
      failures: splitFailures(reader.samples, restarts, 1000),
      failuresByCode: reader.failuresByCode,
      worstPollGapMs: worstPollGapMs(reader.samples),
    })),
    views: views.report,
    gaps: {
      count: gaps.length,
      instances: new Set(gaps.map((gap) => gap.id)).size,
      worstMs: gaps[0]?.ms ?? 0,
      withoutFault: gaps.filter((gap) => gap.faults.length === 0).length,
      worst: gaps.slice(0, 10),
    },
    details: {
      worstDead: [...dead]
        .sort((a, b) => (b.listedAfterKillMs ?? -1) - (a.listedAfterKillMs ?? -1))
        .slice(0, 10),
      worstRecovery: flatRecoveries.sort((a, b) => b.missingUntilMs - a.missingUntilMs).slice(0, 10),
    },
  };
}
