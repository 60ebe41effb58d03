import { RegistryError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { dueChecks, nextCheckAt, settledWake, type ViewTiming, viewTiming } from './view-checks.js';
import { ViewLoads } from './view-loads.js';
import type { ResolvedDiscoveryOptions } from './view-options.js';
import type { ViewReads } from './view-reads.js';
import { type Change, ServiceState } from './view-state.js';

/** What the sync engine reports to the view. */
export interface ViewSink {
  changed(changes: readonly Change[]): void;
  stale(error: RegistryError, since: number): void;
  fresh(staleForMs: number): void;
  guarded(service: string, held: number): void;
  bounded(): void;
  loaded(): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Keeps the held services current with as few store reads as it can: one load, then a re-read of a
 * service only on its change notice (or a moved counter when polling), a probe of expiries shortly
 * before the earliest held one runs out, and local removal at each record's own expiry. All store
 * work runs one step at a time; expiry and the staleness bound run from the timer, never behind a read.
 */
export class ViewSync {
  readonly states = new Map<string, ServiceState>();
  /** Moves whenever a service hands out new instance objects, a moved deadline included. */
  readonly revision = { value: 0 };
  readonly #options: ResolvedOptions;
  readonly #view: ResolvedDiscoveryOptions;
  readonly #reads: ViewReads;
  readonly #sink: ViewSink;
  readonly #timing: ViewTiming;
  readonly #loads: ViewLoads;
  #needFull = true;
  #loaded = false;
  #closed = false;
  #updatedAt: number | null = null;
  #stale: { since: number; startedAt: number } | null = null;
  /**
   * The store's notices stopped (its connection dropped) and no read has answered since: when the
   * view last knew the store. The store may be away though no read has failed yet: local expiry
   * waits, and deadlines that pass meanwhile prove no death (as while stale).
   */
  #blindSince: number | undefined;
  /** Moves each time notices are cut: only a read begun after it ends the blind spell. */
  #blindEpoch = 0;
  #emptied = false;
  #retryAt = 0;
  #busy: Promise<void> | undefined;
  #again = false;
  #timer: unknown;
  #probeNow = false;
  /** After notices resumed: poll as if the store could not push until then, to catch what was lost. */
  #pollUntil = 0;

  constructor(options: ResolvedOptions, view: ResolvedDiscoveryOptions, reads: ViewReads, sink: ViewSink) {
    this.#options = options;
    this.#view = view;
    this.#reads = reads;
    this.#sink = sink;
    this.#timing = viewTiming(options, view);
    const sync = this;
    this.#loads = new ViewLoads(options, view, reads, this.#timing, sink, {
      states: this.states,
      revision: this.revision,
      get loaded() {
        return sync.#loaded;
      },
      get failing() {
        return sync.#stale !== null;
      },
      get unseenSince() {
        return sync.#unseenSince;
      },
      get pollUntil() {
        return sync.#pollUntil;
      },
      reloaded: (now) => this.#reloaded(now),
    });
    for (const name of view.services ?? []) this.states.set(name, new ServiceState(name, this.revision));
  }

  /** Since when the view could not see the store, if it cannot now (stale, or notices cut). */
  get #unseenSince(): number | undefined {
    return this.#stale?.since ?? this.#blindSince;
  }

  get updatedAt(): number | null {
    return this.#updatedAt;
  }

  get stale(): boolean {
    return this.#stale !== null || !this.#loaded;
  }

  /** When the view last stopped matching the store, if it does not now. */
  get staleSince(): number | null {
    return this.#stale?.since ?? null;
  }

  async start(): Promise<void> {
    await this.#reads.subscribe(
      (service) => this.#notice(service),
      this.#view.services,
      (resumed) => this.#interrupted(resumed),
    );
    this.#kick();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#busy;
    await this.#reads.unsubscribe();
  }

  #wants(service: string): boolean {
    return this.#view.services === undefined || this.states.has(service);
  }

  #notice(service: string): void {
    if (this.#closed || !this.#wants(service)) return;
    this.#loads.dirty.add(service);
    this.#loads.noticed.add(service);
    this.#kick();
  }

  /**
   * The store's notices stopped (its connection dropped) or resumed: read at once, so the view says
   * it is stale without waiting for its next probe, or reconciles what it missed.
   */
  #interrupted(resumed: boolean): void {
    if (this.#closed || !this.#loaded) return;
    if (resumed) {
      this.#needFull = true;
      // Notices published while the subscription was being restored are lost: poll for a while.
      this.#pollUntil = this.#options.clock.now() + this.#timing.holdMs + this.#options.intervalMs;
    } else {
      this.#probeNow = true;
      if (this.#stale === null) this.#blindSince ??= this.#updatedAt ?? this.#options.clock.now();
      this.#blindEpoch++;
    }
    this.#kick();
  }

  #kick(): void {
    if (this.#closed) return;
    if (this.#busy !== undefined) {
      this.#again = true;
      return;
    }
    this.#busy = this.#work()
      .catch((error: unknown) =>
        this.#options.logger.error('discovery: unexpected failure', { error: String(error) }),
      )
      .finally(() => {
        this.#busy = undefined;
        if (this.#again && !this.#closed) {
          this.#again = false;
          this.#kick();
        } else {
          this.#schedule();
        }
      });
  }

  async #work(): Promise<void> {
    const epoch = this.#blindEpoch;
    try {
      await this.#reads.resubscribeIfNeeded();
      const now = this.#options.clock.now();
      const loads = this.#loads;
      const followUp = loads.reloadAt !== undefined && now >= loads.reloadAt;
      if (followUp) loads.reloadAt = undefined;
      const recovering = this.#needFull || (this.#stale !== null && now >= this.#retryAt);
      if (recovering || followUp) {
        await loads.reloadAll(followUp && !recovering);
      } else if (this.#stale === null) {
        if (loads.dirty.size > 0) {
          const services = [...loads.dirty];
          loads.dirty.clear();
          await loads.relist(services);
        }
        if (loads.polling(now) && now >= loads.nextPollAt) await loads.poll(now);
        const due = this.#probeNow
          ? [...this.states.values()]
          : dueChecks(this.states.values(), now, this.#timing);
        this.#probeNow = false;
        if (due.length > 0) await loads.check(due);
      } else {
        return;
      }
      this.#markFresh(epoch === this.#blindEpoch);
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      this.#markStale(error);
    }
  }

  #markFresh(sawStore: boolean): void {
    const now = this.#options.clock.now();
    this.#updatedAt = now;
    if (sawStore) this.#blindSince = undefined;
    if (this.#stale !== null) {
      const staleForMs = now - this.#stale.since;
      this.#stale = null;
      this.#emptied = false;
      this.#options.logger.info('discovery: the store answers again; the view is current', { staleForMs });
      this.#sink.fresh(staleForMs);
    }
  }

  /** A full reload applied (see `LoadHost.reloaded`). */
  #reloaded(now: number): void {
    this.#needFull = false;
    if (this.#stale === null) this.#updatedAt = now;
    if (!this.#loaded) {
      this.#loaded = true;
      this.#sink.loaded();
    }
  }

  #markStale(error: RegistryError): void {
    const now = this.#options.clock.now();
    this.#retryAt = now + this.#timing.retryMs;
    this.#needFull = false;
    if (this.#stale !== null) return;
    const since = this.#updatedAt ?? now;
    this.#stale = { since, startedAt: now };
    this.#options.logger.warn('discovery: the store cannot be read; serving the last known view', {
      error: error.message,
    });
    this.#sink.stale(error, since);
  }

  /** Runs from the timer: local expiry and the staleness bound, then any store work due. */
  #onTimer(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    const now = this.#options.clock.now();
    if (this.#stale !== null) {
      if (!this.#emptied && now - this.#stale.since >= this.#view.maxStalenessMs) this.#empty();
    } else if (this.#blindSince === undefined) {
      const changes: Change[] = [];
      for (const state of this.states.values()) {
        if (this.#loads.checking.has(state.name)) continue;
        const removed = state.expire(now, this.#timing.settleMs);
        // A late refresh would not be pushed: look once more shortly after, to take it back if so.
        if (removed.length > 0) state.recheckAt = now + this.#timing.leadMs;
        changes.push(...removed);
      }
      if (changes.length > 0) this.#sink.changed(changes);
    }
    this.#kick();
  }

  #empty(): void {
    this.#emptied = true;
    const changes: Change[] = [];
    for (const state of this.states.values()) changes.push(...state.clear('stale-bound'));
    if (this.#view.services === undefined) this.states.clear();
    this.#options.logger.warn(
      'discovery: the store has been unreadable for longer than maxStaleness; the view is empty',
      {
        maxStalenessMs: this.#view.maxStalenessMs,
      },
    );
    this.#sink.bounded();
    if (changes.length > 0) this.#sink.changed(changes);
  }

  #schedule(): void {
    if (this.#closed) return;
    const now = this.#options.clock.now();
    let wake = Number.POSITIVE_INFINITY;
    if (this.#stale !== null || this.#needFull) {
      wake = this.#retryAt;
      if (this.#stale !== null && !this.#emptied)
        wake = Math.min(wake, this.#stale.since + this.#view.maxStalenessMs);
    } else {
      if (this.#loads.polling(now)) wake = this.#loads.nextPollAt;
      const { settleMs } = this.#timing;
      for (const state of this.states.values())
        wake = Math.min(wake, nextCheckAt(state, settleMs), settledWake(state, settleMs));
    }
    if (this.#reads.awaitingSubscription) wake = Math.min(wake, now + this.#timing.retryMs);
    const { reloadAt } = this.#loads;
    if (reloadAt !== undefined) wake = Math.min(wake, reloadAt);
    this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (wake === Number.POSITIVE_INFINITY) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, wake - now));
    this.#timer = this.#options.clock.setTimeout(() => this.#onTimer(), delay);
  }
}
