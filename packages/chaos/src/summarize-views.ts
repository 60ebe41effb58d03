import type { InstanceLife, KillObservation, RestartObservation } from './analysis.js';
import type { InstanceProcess } from './children.js';
import type { FaultPhase } from './summarize.js';
import { type CoverageCheck, checkCoverage, checkViewDead, delays, median } from './view-analysis.js';
import type { ViewReader } from './view-watcher.js';
import type { Sample } from './watcher.js';

/** A distribution of delays, ms. */
export interface DelayFigures {
  readonly count: number;
  readonly medianMs: number | null;
  readonly worstMs: number | null;
}

/** What one discovery view showed over the run. */
export interface ViewReport {
  readonly label: string;
  readonly proxied: boolean;
  /** The services it holds, or `all`. */
  readonly services: string;
  readonly samples: number;
  readonly staleSamples: number;
  readonly staleEvents: number;
  readonly guardedEvents: number;
  /** Per Redis restart: the live instances it held when Redis went down, and any it lost. */
  readonly restarts: (CoverageCheck & { restart: number })[];
  readonly dead: {
    /** Kills of instances the view held; `strict` of them judged against ttl + 1 s. */
    checked: number;
    strict: number;
    violations: number;
    /** Kill to `removed`, over the strict checks, and over the loose ones (outages, proxy faults). */
    strictFigures: DelayFigures;
    looseWorstMs: number | null;
    reasons: Record<string, number>;
  };
  /** `register()` resolved in the instance to `added` here. */
  readonly joins: DelayFigures;
  /** The instance's delete resolved (final SIGTERM) to `removed` here. */
  readonly deregistrations: DelayFigures & { reasons: Record<string, number> };
}

export interface ViewsReport {
  readonly views: ViewReport[];
  /** The bare find() observer over the same restart windows, for comparison (never a bound here). */
  readonly find: (CoverageCheck & { restart: number })[];
  /** A restart window runs from Redis going down until this long after it answered again. */
  readonly windowAfterMs: number;
}

export interface ViewsInput {
  views: readonly ViewReader[];
  observer: readonly Sample[];
  instances: readonly InstanceProcess[];
  lives: readonly InstanceLife[];
  kills: readonly KillObservation[];
  restarts: readonly RestartObservation[];
  faultLog: readonly FaultPhase[];
  bounds: { deadMs: number; recoveryMs: number };
  ttlMs: number;
  observedUntil: number;
}

const figures = (values: readonly number[]): DelayFigures => ({
  count: values.length,
  medianMs: median(values),
  worstMs: values.length > 0 ? Math.max(...values) : null,
});

const tally = (values: readonly (string | null | undefined)[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value ?? 'never'] = (counts[value ?? 'never'] ?? 0) + 1;
  return counts;
};

/** Stalls of the measuring process: samples are taken on a 100 ms timer, so a gap of 1 s means its loop was starved. */
export const STALL_MS = 1000;
function stalled(samples: readonly Sample[], from: number, to: number): boolean {
  for (let index = 1; index < samples.length; index++) {
    const previous = (samples[index - 1] as Sample).at;
    const at = (samples[index] as Sample).at;
    if (at - previous > STALL_MS && at >= from && previous <= to) return true;
  }
  return false;
}

/** The views' part of the report, and the view bounds it broke. */
export function summarizeViews(input: ViewsInput): { report: ViewsReport; violations: string[] } {
  const { bounds, restarts } = input;
  const windowAfterMs = bounds.recoveryMs + 1000;
  const violations: string[] = [];
  const coverage = (samples: readonly Sample[], events?: ViewReader['events']) =>
    restarts.map((restart, index) => ({
      restart: index + 1,
      ...checkCoverage(restart, restart.backAt + windowAfterMs, input.lives, samples, events),
    }));
  const inOutage = (at: number) =>
    restarts.some(
      (restart) => at >= restart.downAt - bounds.deadMs && at <= restart.backAt + bounds.recoveryMs,
    );
  const inFault = (at: number) =>
    input.faultLog.some((phase) => phase.fromAt <= at + bounds.deadMs && phase.toAt >= at - input.ttlMs);

  const views = input.views.map((view): ViewReport => {
    const watched = (service: string) => view.services === undefined || view.services.includes(service);
    const restartChecks = coverage(view.samples, view.events);
    for (const check of restartChecks.filter((c) => c.missing.length > 0)) {
      violations.push(
        `${view.label}: restart ${check.restart}: ${check.missing.length} of ${check.judged} live instances missing (${check.missing.slice(0, 5).join(', ')}; ${check.removals} removed events; bound: none missing)`,
      );
    }
    const dead = checkViewDead(
      input.kills,
      view.events,
      bounds.deadMs,
      input.observedUntil,
      (at, removedAt) =>
        inOutage(at) ||
        (view.proxied && inFault(at)) ||
        stalled(view.samples, at, removedAt ?? at + bounds.deadMs),
    );
    for (const check of dead.filter((c) => c.violated)) {
      violations.push(
        `${view.label}: killed instance ${check.id} removed ${check.removedAfterMs ?? 'never'} ms after its SIGKILL (bound ${bounds.deadMs} ms)`,
      );
    }
    const strict = dead.filter((check) => check.strict);
    const loose = dead.filter((check) => !check.strict && check.removedAfterMs !== null);
    const mine = input.instances.filter((instance) => watched(instance.service));
    const joins = delays(
      mine.flatMap((instance) => {
        const ready = instance.lines.find((line) => line.type === 'ready');
        return ready?.type === 'ready' && ready.ok
          ? [{ id: instance.id, at: ready.at, notBefore: instance.spawnedAt }]
          : [];
      }),
      view.events,
      'added',
    );
    const deregistered = delays(
      mine.flatMap((instance) => {
        const line = instance.lines.find((candidate) => candidate.type === 'deregistered');
        return line ? [{ id: instance.id, at: line.at, notBefore: instance.stoppingAt ?? line.at }] : [];
      }),
      view.events,
      'removed',
    );
    return {
      label: view.label,
      proxied: view.proxied,
      services: view.services?.join(', ') ?? 'all',
      samples: view.samples.length,
      staleSamples: view.staleSamples,
      staleEvents: view.staleEvents,
      guardedEvents: view.guardedEvents,
      restarts: restartChecks,
      dead: {
        checked: dead.length,
        strict: strict.length,
        violations: dead.filter((check) => check.violated).length,
        strictFigures: figures(
          strict.flatMap((check) => (check.removedAfterMs === null ? [] : [check.removedAfterMs])),
        ),
        looseWorstMs:
          loose.length > 0 ? Math.max(...loose.map((check) => check.removedAfterMs as number)) : null,
        reasons: tally(dead.map((check) => check.reason)),
      },
      joins: figures(joins.map((join) => join.ms)),
      deregistrations: {
        ...figures(deregistered.map((item) => item.ms)),
        reasons: tally(deregistered.map((item) => item.reason)),
      },
    };
  });
  return { report: { views, find: coverage(input.observer), windowAfterMs }, violations };
}
