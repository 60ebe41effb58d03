import type { ResolvedOptions } from '../options.js';
import type { Instance } from '../record.js';
import { isCounterReset } from '../store.js';
import type { ViewTiming } from './view-checks.js';
import type { ResolvedDiscoveryOptions } from './view-options.js';
import type { ViewReads } from './view-reads.js';
import type { ServiceState } from './view-state.js';
import type { ViewSink } from './view-sync.js';

/**
 * More changes than this between two reads of a counter is taken for a reset too: a counter lost and
 * created again restarts from the store's clock in microseconds, so one less than a second old moves
 * by less than `COUNTER_RESET_LEAP` when it is lost (a restart or flush right after a join).
 */
const PLAUSIBLE_CHANGES = 10_000;

/** A counter reset, or a jump no run of changes between two reads makes. */
export function looksReset(before: number | undefined, after: number): boolean {
  if (isCounterReset(before, after)) return true;
  return before !== undefined && before !== 0 && after - before > PLAUSIBLE_CHANGES;
}

/** One service's fresh list, and whether a notice prompted it. */
export interface Listed {
  readonly state: ServiceState;
  readonly fetched: readonly Instance[];
  readonly unprompted: boolean;
}

/** What the judge needs to know of the sync engine's state. */
export interface JudgeHost {
  readonly states: Map<string, ServiceState>;
  readonly loaded: boolean;
  /** A read failed and none has answered since. */
  readonly failing: boolean;
  /** Since when the view could not see the store, if it cannot now (stale, or notices cut). */
  readonly unseenSince: number | undefined;
}

/**
 * Applies fresh lists with the guard's judgement of what vanished: a restart suspected (a change
 * counter reset) holds every vanishing for one hold; a vanishing the counters explain is a
 * deregistration; the rest is judged by `ServiceState.reconcile` (share, outage, unprompted).
 */
export class ViewJudge {
  readonly #options: ResolvedOptions;
  readonly #view: ResolvedDiscoveryOptions;
  readonly #reads: ViewReads;
  readonly #timing: ViewTiming;
  readonly #sink: ViewSink;
  readonly #host: JudgeHost;
  #holdWindowUntil = 0;

  constructor(
    options: ResolvedOptions,
    view: ResolvedDiscoveryOptions,
    reads: ViewReads,
    timing: ViewTiming,
    sink: ViewSink,
    host: JudgeHost,
  ) {
    this.#options = options;
    this.#view = view;
    this.#reads = reads;
    this.#timing = timing;
    this.#sink = sink;
    this.#host = host;
  }

  /** A deregistration is always pushed on a store that pushes: vanishing without a notice is not one. */
  #holdsUnprompted(unprompted: boolean): boolean {
    return this.#reads.pushes && unprompted && this.#host.loaded && !this.#host.failing;
  }

  /** Change counters as they were before a list: the baseline of the next one. */
  countersBefore(): Map<string, number | undefined> {
    return new Map([...this.#host.states].map(([name, state]) => [name, state.changes]));
  }

  /** Applies fresh lists; a vanishing the guard would hold is first weighed against the change counters. */
  async applyLists(lists: readonly Listed[], before: ReadonlyMap<string, number | undefined>): Promise<void> {
    const explained = await this.#explainVanishing(lists);
    for (const { state, fetched, unprompted } of lists) {
      this.#apply(state, fetched, unprompted, explained.has(state));
      const baseline = before.get(state.name);
      if (baseline !== undefined) state.listedChanges = baseline;
    }
  }

  /**
   * Services whose vanished records the store's change counters explain: read after the list, the
   * counter moved from its baseline (read before the list that last saw them) by at least as many
   * changes and was not reset, so they were deleted, not lost with a restarted store. One probe, and
   * only when two or more vanished at once (a fleet stopping together, or a store that lost them,
   * which the counter's reset shows), after an outage, or without a notice on a store that pushes.
   */
  async #explainVanishing(lists: readonly Listed[]): Promise<Set<ServiceState>> {
    const explained = new Set<ServiceState>();
    const now = this.#options.clock.now();
    if (!this.#reads.probes || this.#view.guardShare >= 1 || now < this.#holdWindowUntil) return explained;
    const suspects: { state: ServiceState; vanished: number }[] = [];
    for (const { state, fetched, unprompted } of lists) {
      if (state.listedChanges === undefined || state.listedChanges <= 0) continue;
      const vanished = state.vanishing(fetched, now, this.#timing.leadMs);
      if (vanished === 0) continue;
      // Two or more at once is worth one probe even below the guard's share: a flushed or restarted
      // store whose fleet half rejoined before this list looks like that, and only the counter's
      // reset tells it from a deregistration.
      const several = vanished >= 2;
      const afterOutage = this.#host.unseenSince !== undefined;
      if (several || afterOutage || this.#holdsUnprompted(unprompted)) suspects.push({ state, vanished });
    }
    if (suspects.length === 0) return explained;
    const results = await this.#reads.probe(
      suspects.map((suspect) => suspect.state.name),
      this.#timing.horizonMs,
    );
    suspects.forEach(({ state, vanished }, index) => {
      const result = results[index];
      if (result === undefined) return;
      if (looksReset(state.changes, result.changes)) this.suspectRestart(state.name);
      state.changes = result.changes;
      const baseline = state.listedChanges as number;
      if (!looksReset(baseline, result.changes - vanished) && result.changes - baseline >= vanished)
        explained.add(state);
    });
    // A reset seen on any of them is a restart suspected for all.
    if (this.#options.clock.now() < this.#holdWindowUntil) explained.clear();
    return explained;
  }

  /** Applies a fresh list of one service, with the guard's judgement of what vanished. */
  #apply(state: ServiceState, fetched: readonly Instance[], unprompted: boolean, explained: boolean): void {
    const now = this.#options.clock.now();
    const holdAll = now < this.#holdWindowUntil || (!explained && this.#holdsUnprompted(unprompted));
    const outcome = state.reconcile(fetched, {
      now,
      noExpiryDeadline: now + this.#options.ttlMs,
      storeOffsetMs: this.#reads.storeOffsetMs,
      expiryGraceMs: this.#timing.leadMs,
      guardShare: this.#view.guardShare,
      holdUntil: now + this.#timing.holdMs,
      holdAll,
      unseenSince: this.#host.unseenSince,
      settleMs: this.#timing.settleMs,
      explained,
      listSettles: !this.#reads.probes,
    });
    if (outcome.held > 0) {
      this.#holdWindowUntil = Math.max(this.#holdWindowUntil, state.guard?.until ?? 0);
      this.#options.logger.warn('discovery: many instances vanished at once; holding them', {
        service: state.name,
        held: outcome.held,
      });
      this.#sink.guarded(state.name, outcome.held);
    }
    if (state.held.size === 0 && this.#view.services === undefined) this.#host.states.delete(state.name);
    if (outcome.changes.length > 0) this.#sink.changed(outcome.changes);
  }

  /**
   * A change counter was reset: the store lost its state (a restart without persistence, a flush).
   * For one hold, whatever vanished is held while live instances write themselves back.
   */
  suspectRestart(where: string): void {
    const until = this.#options.clock.now() + this.#timing.holdMs;
    if (until <= this.#holdWindowUntil) return;
    this.#holdWindowUntil = until;
    this.#options.logger.warn('discovery: the store lost its change counter (a restart or flush?)', {
      where,
    });
  }
}
