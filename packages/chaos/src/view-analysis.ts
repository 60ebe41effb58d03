import type { InstanceLife, KillObservation, RestartObservation } from './analysis.js';
import type { ViewEvent } from './view-watcher.js';
import type { Sample } from './watcher.js';

// Pure functions from what the views (and, side by side, the bare find() observer) showed to the view
// bounds and figures. Views add their events to the samples: an event is exact, a sample catches what
// an event could not say (an instance that silently went missing). Times are ms since the epoch.

/** What one reader showed of the live instances during one Redis restart window. */
export interface CoverageCheck {
  /** Live instances listed by this reader just before Redis went down; each must stay listed until it dies or the window ends. */
  readonly judged: number;
  /** Samples in the window, failed ones (find() threw) among them. */
  readonly samples: number;
  readonly failedSamples: number;
  /** Answered samples that missed at least one judged live instance. */
  readonly incompleteSamples: number;
  /** Judged live instances missing from a sample, or removed by an event, within the window. */
  readonly missing: readonly string[];
  /** Last failed or incomplete sample, minus the moment Redis went down; null when none. */
  readonly lastMissingMs: number | null;
  /** `removed` events of judged instances in the window while they were alive, and their reasons. */
  readonly removals: number;
  readonly removalReasons: Record<string, number>;
}

const aliveAt = (life: InstanceLife | undefined, at: number) =>
  life !== undefined && (life.goneAt === undefined || at < life.goneAt);

/**
 * For one restart: every instance the reader listed in its last answer before Redis went down, and
 * still alive, must be in every answer (and never `removed`) from then until `windowEnd`.
 */
export function checkCoverage(
  restart: RestartObservation,
  windowEnd: number,
  lives: readonly InstanceLife[],
  samples: readonly Sample[],
  events: readonly ViewEvent[] = [],
): CoverageCheck {
  const byId = new Map(lives.map((life) => [life.id, life]));
  const before = samples.filter((sample) => sample.at < restart.downAt && sample.ids !== undefined).at(-1);
  const judged = [...(before?.ids ?? [])].filter((id) => aliveAt(byId.get(id), restart.downAt));
  const missing = new Set<string>();
  let failedSamples = 0;
  let incompleteSamples = 0;
  let lastMissing: number | undefined;
  let count = 0;
  for (const sample of samples) {
    if (sample.at < restart.downAt || sample.at > windowEnd) continue;
    count++;
    const absent = judged.filter((id) => aliveAt(byId.get(id), sample.at) && !sample.ids?.has(id));
    if (sample.ids === undefined) failedSamples++;
    else if (absent.length > 0) incompleteSamples++;
    if (sample.ids === undefined || absent.length > 0) lastMissing = sample.at;
    for (const id of absent) missing.add(id);
  }
  let removals = 0;
  const removalReasons: Record<string, number> = {};
  const judgedSet = new Set(judged);
  for (const event of events) {
    if (event.type !== 'removed' || event.at < restart.downAt || event.at > windowEnd) continue;
    if (!judgedSet.has(event.id) || !aliveAt(byId.get(event.id), event.at)) continue;
    removals++;
    const reason = event.reason ?? 'unknown';
    removalReasons[reason] = (removalReasons[reason] ?? 0) + 1;
    missing.add(event.id);
    lastMissing = Math.max(lastMissing ?? event.at, event.at);
  }
  return {
    judged: judged.length,
    samples: count,
    failedSamples,
    incompleteSamples,
    missing: [...missing].sort(),
    lastMissingMs: lastMissing === undefined ? null : lastMissing - restart.downAt,
    removals,
    removalReasons,
  };
}

export interface ViewDeadCheck {
  readonly id: string;
  readonly killedAt: number;
  /** First `removed` event after the kill, minus the kill time; null when it was never removed. */
  readonly removedAfterMs: number | null;
  readonly reason: string | null;
  /**
   * False when an outage, (for a proxied view) a proxy fault, or a stall of the orchestrator's own
   * event loop explains a late removal: reported, not judged.
   */
  readonly strict: boolean;
  readonly violated: boolean;
}

/** For each kill of an instance the view held at that moment: when the view let it go. */
export function checkViewDead(
  kills: readonly KillObservation[],
  events: readonly ViewEvent[],
  boundMs: number,
  observedUntil: number,
  loose: (killedAt: number, removedAt: number | undefined) => boolean,
): ViewDeadCheck[] {
  const checks: ViewDeadCheck[] = [];
  for (const { id, killedAt } of kills) {
    const own = events.filter((event) => event.id === id);
    if (own.filter((event) => event.at <= killedAt).at(-1)?.type !== 'added') continue;
    const removed = own.find((event) => event.type === 'removed' && event.at > killedAt);
    if (!removed && killedAt + boundMs > observedUntil) continue;
    const removedAfterMs = removed ? removed.at - killedAt : null;
    const strict = !loose(killedAt, removed?.at);
    checks.push({
      id,
      killedAt,
      removedAfterMs,
      reason: removed?.reason ?? null,
      strict,
      violated: strict && (removedAfterMs === null || removedAfterMs > boundMs),
    });
  }
  return checks;
}

/**
 * Per moment given (an instance's own clock when `register()` resolved, or when its record's delete
 * did), the first view event of `type` for that id at or after `notBefore`, minus that moment.
 * Negative when the view saw it before the instance's call returned. Ids the view never showed are left out.
 */
export function delays(
  moments: readonly { id: string; at: number; notBefore: number }[],
  events: readonly ViewEvent[],
  type: ViewEvent['type'],
): { id: string; ms: number; reason: string | undefined }[] {
  const result: { id: string; ms: number; reason: string | undefined }[] = [];
  for (const moment of moments) {
    const event = events.find(
      (candidate) =>
        candidate.id === moment.id && candidate.type === type && candidate.at >= moment.notBefore,
    );
    if (event) result.push({ id: moment.id, ms: event.at - moment.at, reason: event.reason });
  }
  return result;
}

/** The median of `values` (the mean of the middle two for an even count); null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
