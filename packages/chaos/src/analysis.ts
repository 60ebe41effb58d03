import type { Sample } from './watcher.js';

// Pure functions from what was observed (reader samples, kills, restarts) to the figures and the
// bounds. Every time is ms since the epoch; all processes share the host's clock.
//
// Sampling: a reader sees the store only at its polls. An instance last listed at sample S was gone at
// some moment up to the next sample, so "listed after kill" (from S) is a lower bound of the truth and
// "gone by" (the next sample without it) an upper bound; a bound is broken only when the lower bound
// breaks it, so the poll period is allowed for, never charged to the registry. Likewise after a restart:
// "missing until" (the last sample without the instance) is the lower bound, "back by" the upper.

export interface KillObservation {
  readonly id: string;
  readonly killedAt: number;
}

export interface DeadCheck {
  readonly id: string;
  readonly killedAt: number;
  /** Last time any reader listed it after the kill, minus the kill time; null when never listed again. */
  readonly listedAfterKillMs: number | null;
  /** First observer sample without it after it was last listed, minus the kill time. */
  readonly goneByMs: number | null;
  readonly violated: boolean;
}

/** For each kill observed long enough: how long any reader still listed the dead instance. */
export function checkDead(
  kills: readonly KillObservation[],
  observer: readonly Sample[],
  others: readonly Sample[],
  boundMs: number,
  observedUntil: number,
): DeadCheck[] {
  const all = [...observer, ...others];
  const checks: DeadCheck[] = [];
  for (const { id, killedAt } of kills) {
    // Too late in the run to see whether it went in time: not judged.
    if (killedAt + boundMs > observedUntil) continue;
    let lastListed: number | undefined;
    for (const sample of all) {
      if (
        sample.ids?.has(id) &&
        sample.at >= killedAt &&
        (lastListed === undefined || sample.at > lastListed)
      ) {
        lastListed = sample.at;
      }
    }
    const after = lastListed ?? killedAt;
    const goneSample = observer.find(
      (sample) => sample.startedAt > after && sample.ids && !sample.ids.has(id),
    );
    const listedAfterKillMs = lastListed === undefined ? null : lastListed - killedAt;
    checks.push({
      id,
      killedAt,
      listedAfterKillMs,
      goneByMs: goneSample ? goneSample.at - killedAt : null,
      violated: listedAfterKillMs !== null && listedAfterKillMs > boundMs,
    });
  }
  return checks;
}

export interface RestartObservation {
  readonly downAt: number;
  readonly backAt: number;
}

export interface InstanceLife {
  readonly id: string;
  /** First time the observer listed it; undefined when never. */
  readonly firstListedAt: number | undefined;
  /** When it was killed or began to stop or exited, whichever came first; undefined while running. */
  readonly goneAt: number | undefined;
}

export interface RecoveryCheck {
  readonly id: string;
  /** Last observer sample after Redis returned that did not list it, minus `backAt`; 0 when none. */
  readonly missingUntilMs: number;
  /** First observer sample after Redis returned that listed it, minus `backAt`; null when never. */
  readonly backByMs: number | null;
  readonly violated: boolean;
}

/**
 * For one restart: every instance listed before Redis went down and alive until well past the bound
 * must be listed again within `boundMs` of Redis answering. Only samples that began after Redis was
 * back count: an earlier one may have run against the old server.
 */
export function checkRecovery(
  restart: RestartObservation,
  lives: readonly InstanceLife[],
  observer: readonly Sample[],
  boundMs: number,
  pollMs: number,
): RecoveryCheck[] {
  const after = observer.filter((sample) => sample.startedAt >= restart.backAt && sample.ids !== undefined);
  const aliveUntil = restart.backAt + boundMs + pollMs;
  const checks: RecoveryCheck[] = [];
  for (const life of lives) {
    if (life.firstListedAt === undefined || life.firstListedAt >= restart.downAt) continue;
    if (life.goneAt !== undefined && life.goneAt <= aliveUntil) continue;
    let missingUntil = restart.backAt;
    let backBy: number | undefined;
    for (const sample of after) {
      if (sample.ids?.has(life.id)) {
        backBy = sample.at;
        break;
      }
      if (life.goneAt !== undefined && sample.at >= life.goneAt) break;
      missingUntil = sample.at;
    }
    const missingUntilMs = missingUntil - restart.backAt;
    checks.push({
      id: life.id,
      missingUntilMs,
      backByMs: backBy === undefined ? null : backBy - restart.backAt,
      // Never listed again but also never seen missing past the bound means the observer saw nothing:
      // that proves nothing, so it fails too.
      violated: missingUntilMs > boundMs || backBy === undefined,
    });
  }
  return checks;
}

export interface Gap {
  readonly id: string;
  readonly fromAt: number;
  readonly toAt: number;
  readonly ms: number;
}

/**
 * Times a live instance was missing outside any restart (info, not a bound: under proxy faults a
 * record can lapse when refreshes fail for longer than ttl - interval). From the last sample that
 * listed it to the next one that did.
 */
export function findGaps(
  lives: readonly InstanceLife[],
  observer: readonly Sample[],
  restarts: readonly RestartObservation[],
  recoveryBoundMs: number,
): Gap[] {
  const inRestart = (from: number, to: number) =>
    restarts.some((restart) => from <= restart.backAt + recoveryBoundMs && to >= restart.downAt);
  const answered = observer.filter((sample) => sample.ids !== undefined);
  const gaps: Gap[] = [];
  for (const life of lives) {
    if (life.firstListedAt === undefined) continue;
    let lastListed: number | undefined;
    let missing = false;
    for (const sample of answered) {
      if (sample.at < life.firstListedAt) continue;
      if (life.goneAt !== undefined && sample.startedAt >= life.goneAt) break;
      if (sample.ids?.has(life.id)) {
        if (missing && lastListed !== undefined && !inRestart(lastListed, sample.at)) {
          gaps.push({ id: life.id, fromAt: lastListed, toAt: sample.at, ms: sample.at - lastListed });
        }
        missing = false;
        lastListed = sample.at;
      } else {
        missing = true;
      }
    }
  }
  return gaps;
}

export interface FailureSplit {
  readonly total: number;
  /** Began while Redis was down or within `graceMs` of it answering again. */
  readonly duringOutages: number;
  readonly outside: number;
}

/** Splits a reader's failed `find()` calls into those an outage explains and the rest. */
export function splitFailures(
  samples: readonly Sample[],
  restarts: readonly RestartObservation[],
  graceMs: number,
): FailureSplit {
  let duringOutages = 0;
  let outside = 0;
  for (const sample of samples) {
    if (sample.ids !== undefined) continue;
    const explained = restarts.some(
      (restart) => sample.at >= restart.downAt && sample.startedAt <= restart.backAt + graceMs,
    );
    if (explained) duringOutages++;
    else outside++;
  }
  return { total: duringOutages + outside, duringOutages, outside };
}

/** The largest time between the starts of two consecutive samples, in ms. */
export function worstPollGapMs(samples: readonly Sample[]): number {
  let worst = 0;
  for (let index = 1; index < samples.length; index++) {
    worst = Math.max(worst, (samples[index] as Sample).startedAt - (samples[index - 1] as Sample).startedAt);
  }
  return worst;
}
