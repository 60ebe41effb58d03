import { RegistryError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import type { Instance } from '../record.js';
import { isCounterReset, type ServiceProbe } from '../store.js';
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

/** One service's fresh list, and whether a notice prompted it. */
interface Listed {
  readonly state: ServiceState;
  readonly fetched: readonly Instance[];
  readonly unprompted: boolean;
}

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
  /** How long before a deadline the store is asked: longer than any read should take. */
  readonly #leadMs: number;
  /** A deadline read from the store this close to it is settled: no unseen refresh can move it. */
  readonly #settleMs: number;
  /** Live records refreshed on schedule expire at least this long after a read. */
  readonly #horizonMs: number;
  readonly #holdMs: number;
  readonly #retryMs: number;
  readonly #dirty = new Set<string>();
  readonly #noticed = new Set<string>();
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
  #nextPollAt = 0;
  #namespaceChanges: number | undefined;
  #holdWindowUntil = 0;
  #busy: Promise<void> | undefined;
  #again = false;
  #timer: unknown;
  #checking = new Set<string>();
  #probeNow = false;
  /** A reload to follow one that skipped records: a record rewritten with a stale expiry, read again. */
  #reloadAt: number | undefined;
  /** Follow-ups repeat until a reload skips nothing, up to this time (one write interval after the first). */
  #followUntil: number | undefined;
  /** After notices resumed: poll as if the store could not push until then, to catch what was lost. */
  #pollUntil = 0;

  constructor(options: ResolvedOptions, view: ResolvedDiscoveryOptions, reads: ViewReads, sink: ViewSink) {
    this.#options = options;
    this.#view = view;
    this.#reads = reads;
    this.#sink = sink;
    const { intervalMs, ttlMs, jitter } = options;
    this.#leadMs = Math.max(20, Math.min(1000, intervalMs / 4));
    this.#settleMs = this.#leadMs * 2;
    this.#horizonMs = Math.max(this.#settleMs * 2, ttlMs - intervalMs * (1 + jitter));
    this.#holdMs = Math.round(intervalMs * (1 + jitter));
    this.#retryMs = Math.max(20, Math.min(1000, view.pollMs));
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
    this.#dirty.add(service);
    this.#noticed.add(service);
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
      this.#pollUntil = this.#options.clock.now() + this.#holdMs + this.#options.intervalMs;
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
      const followUp = this.#reloadAt !== undefined && now >= this.#reloadAt;
      if (followUp) this.#reloadAt = undefined;
      if (this.#needFull || followUp || (this.#stale !== null && now >= this.#retryAt)) {
        await this.#reloadAll();
      } else if (this.#stale === null) {
        if (this.#dirty.size > 0) {
          const services = [...this.#dirty];
          this.#dirty.clear();
          await this.#relist(services);
        }
        if (this.#polling(now) && now >= this.#nextPollAt) await this.#poll(now);
        const due = this.#probeNow ? [...this.states.values()] : this.#dueChecks(now);
        this.#probeNow = false;
        if (due.length > 0) await this.#check(due);
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

  #markStale(error: RegistryError): void {
    const now = this.#options.clock.now();
    this.#retryAt = now + this.#retryMs;
    this.#needFull = false;
    if (this.#stale !== null) return;
    const since = this.#updatedAt ?? now;
    this.#stale = { since, startedAt: now };
    this.#options.logger.warn('discovery: the store cannot be read; serving the last known view', {
      error: error.message,
    });
    this.#sink.stale(error, since);
  }

  #state(service: string): ServiceState {
    let state = this.states.get(service);
    if (state === undefined) {
      state = new ServiceState(service, this.revision);
      this.states.set(service, state);
    }
    return state;
  }

  /** A deregistration is always pushed on a store that pushes: vanishing without a notice is not one. */
  #holdsUnprompted(unprompted: boolean): boolean {
    return this.#reads.pushes && unprompted && this.#loaded && this.#stale === null;
  }

  /** Change counters as they were before a list: the baseline of the next one. */
  #countersBefore(): Map<string, number | undefined> {
    return new Map([...this.states].map(([name, state]) => [name, state.changes]));
  }

  /** Applies fresh lists; a vanishing the guard would hold is first weighed against the change counters. */
  async #applyLists(
    lists: readonly Listed[],
    before: ReadonlyMap<string, number | undefined>,
  ): Promise<void> {
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
   * only when the guard would otherwise hold (a fleet stopping together, a late notice).
   */
  async #explainVanishing(lists: readonly Listed[]): Promise<Set<ServiceState>> {
    const explained = new Set<ServiceState>();
    const now = this.#options.clock.now();
    if (!this.#reads.probes || this.#view.guardShare >= 1 || now < this.#holdWindowUntil) return explained;
    const suspects: { state: ServiceState; vanished: number }[] = [];
    for (const { state, fetched, unprompted } of lists) {
      if (state.listedChanges === undefined || state.listedChanges <= 0) continue;
      const vanished = state.vanishing(fetched, now, this.#leadMs);
      if (vanished === 0) continue;
      const share = vanished >= 2 && vanished > this.#view.guardShare * state.unguarded;
      const afterOutage = this.#unseenSince !== undefined;
      if (share || afterOutage || this.#holdsUnprompted(unprompted)) suspects.push({ state, vanished });
    }
    if (suspects.length === 0) return explained;
    const results = await this.#reads.probe(
      suspects.map((suspect) => suspect.state.name),
      this.#horizonMs,
    );
    suspects.forEach(({ state, vanished }, index) => {
      const result = results[index];
      if (result === undefined) return;
      if (isCounterReset(state.changes, result.changes)) this.#suspectRestart(state.name);
      state.changes = result.changes;
      const baseline = state.listedChanges as number;
      if (!isCounterReset(baseline, result.changes) && result.changes - baseline >= vanished)
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
      expiryGraceMs: this.#leadMs,
      guardShare: this.#view.guardShare,
      holdUntil: now + this.#holdMs,
      holdAll,
      unseenSince: this.#unseenSince,
      settleMs: this.#settleMs,
      explained,
    });
    if (outcome.held > 0) {
      this.#holdWindowUntil = Math.max(this.#holdWindowUntil, state.guard?.until ?? 0);
      this.#options.logger.warn('discovery: many instances vanished at once; holding them', {
        service: state.name,
        held: outcome.held,
      });
      this.#sink.guarded(state.name, outcome.held);
    }
    if (state.held.size === 0 && this.#view.services === undefined) this.states.delete(state.name);
    if (outcome.changes.length > 0) this.#sink.changed(outcome.changes);
  }

  async #reloadAll(): Promise<void> {
    // While the reload runs, no held deadline expires from the timer: the reload judges them.
    const checking = [...this.states.keys()];
    for (const name of checking) this.#checking.add(name);
    try {
      await this.#reloadAllNow();
    } finally {
      for (const name of checking) this.#checking.delete(name);
    }
  }

  async #reloadAllNow(): Promise<void> {
    if (!this.#reads.pushes && this.#reads.counts) this.#namespaceChanges = await this.#reads.changeCount();
    const before = this.#countersBefore();
    if (this.#view.services === undefined) {
      const grouped = new Map<string, Instance[]>();
      for (const instance of await this.#reads.list(undefined)) {
        const list = grouped.get(instance.name);
        if (list === undefined) grouped.set(instance.name, [instance]);
        else list.push(instance);
      }
      const names = new Set([...this.states.keys(), ...grouped.keys()]);
      await this.#applyLists(
        [...names].map((name) => ({
          state: this.#state(name),
          fetched: grouped.get(name) ?? [],
          unprompted: false,
        })),
        before,
      );
    } else {
      const names = [...this.states.keys()];
      const lists = await Promise.all(names.map((name) => this.#reads.list(name)));
      await this.#applyLists(
        names.map((name, index) => ({
          state: this.#state(name),
          fetched: lists[index] ?? [],
          unprompted: false,
        })),
        before,
      );
    }
    this.#needFull = false;
    this.#dirty.clear();
    this.#noticed.clear();
    const now = this.#options.clock.now();
    this.#followSkipped(now);
    this.#nextPollAt = now + this.#view.pollMs;
    if (this.#stale === null) this.#updatedAt = now;
    if (!this.#loaded) {
      this.#loaded = true;
      this.#sink.loaded();
    }
  }

  /**
   * Records a reload skipped are read again shortly after, and again until none is, for one write
   * interval: after an outage a writer's refresh that waited in its connection's queue lands with
   * the expiry it was given before the outage (dead on arrival, skipped), and the writer's next
   * write, which fixes it, is a routine refresh the store does not push.
   */
  #followSkipped(now: number): void {
    if (this.#reads.takeRejected() === 0) {
      this.#followUntil = undefined;
      return;
    }
    this.#followUntil ??= now + this.#holdMs + this.#settleMs;
    if (now < this.#followUntil) this.#reloadAt = now + this.#settleMs;
    else this.#followUntil = undefined;
  }

  async #relist(services: readonly string[]): Promise<void> {
    const noticed = services.filter((name) => this.#noticed.delete(name));
    for (const name of services) this.#checking.add(name);
    try {
      const before = this.#countersBefore();
      const lists = await Promise.all(services.map((name) => this.#reads.list(name)));
      await this.#applyLists(
        services.map((name, index) => ({
          state: this.#state(name),
          fetched: lists[index] ?? [],
          unprompted: !noticed.includes(name),
        })),
        before,
      );
    } catch (error) {
      // Notices that could not be followed are followed after the store answers again (a full reload).
      for (const name of noticed) this.#noticed.add(name);
      throw error;
    } finally {
      for (const name of services) this.#checking.delete(name);
    }
  }

  #polling(now: number): boolean {
    return !this.#reads.pushes || now < this.#pollUntil;
  }

  /** A store that cannot push: the cheapest read that says whether anything changed. */
  async #poll(now: number): Promise<void> {
    this.#nextPollAt = now + this.#view.pollMs;
    if (!this.#reads.counts) {
      await this.#reloadAll();
      return;
    }
    const changes = await this.#reads.changeCount();
    if (changes === this.#namespaceChanges) return;
    if (isCounterReset(this.#namespaceChanges, changes)) this.#suspectRestart('the namespace');
    this.#namespaceChanges = changes;
    if (this.#view.services === undefined || !this.#reads.probes) await this.#reloadAll();
    else await this.#check([...this.states.values()]);
  }

  /** When a service must next be asked about its expiries, or Infinity. */
  #nextCheckAt(state: ServiceState): number {
    let next = Number.POSITIVE_INFINITY;
    if (state.guard !== undefined) next = state.guard.until;
    if (state.recheckAt !== undefined) next = Math.min(next, state.recheckAt);
    for (const [, held] of state.watched()) {
      const unsettled = held.noExpiry || held.deadline - held.readAt > this.#settleMs;
      if (unsettled) next = Math.min(next, held.deadline - this.#settleMs);
    }
    return next;
  }

  /**
   * Services to ask about now: an unsettled deadline within the settle time, a recheck, a hold's end.
   * When any is due, every service due within half a horizon joins it, so one probe serves them all
   * and they stay aligned afterwards.
   */
  #dueChecks(now: number): ServiceState[] {
    const next = [...this.states.values()].map((state) => ({ state, at: this.#nextCheckAt(state) }));
    if (!next.some((entry) => entry.at <= now)) return [];
    const window = now + this.#horizonMs / 2;
    return next.filter((entry) => entry.at <= window).map((entry) => entry.state);
  }

  async #check(states: readonly ServiceState[]): Promise<void> {
    for (const state of states) state.recheckAt = undefined;
    const mustList = states.filter((state) => state.guard !== undefined || !this.#reads.probes);
    const probed = states.filter((state) => !mustList.includes(state));
    if (probed.length > 0) {
      const started = this.#options.clock.now();
      for (const state of probed) this.#checking.add(state.name);
      let results: ServiceProbe[];
      try {
        results = await this.#reads.probe(
          probed.map((state) => state.name),
          this.#horizonMs,
        );
      } finally {
        for (const state of probed) this.#checking.delete(state.name);
      }
      probed.forEach((state, index) => {
        const result = results[index];
        if (result === undefined || this.#applyProbe(state, result, started)) mustList.push(state);
      });
    }
    if (mustList.length > 0) await this.#relist(mustList.map((state) => state.name));
  }

  /** Learns refreshed expiries from a probe; true when the service must be re-listed. */
  #applyProbe(state: ServiceState, result: ServiceProbe, readAt: number): boolean {
    const moved = state.changes !== undefined && state.changes !== result.changes;
    if (isCounterReset(state.changes, result.changes)) this.#suspectRestart(state.name);
    state.changes = result.changes;
    const expiring = new Map<string, number>();
    for (const entry of result.expiring) expiring.set(entry.instanceId, entry.expiresInMs);
    let watched = 0;
    const offset = this.#reads.storeOffsetMs;
    for (const [id, held] of state.watched()) {
      watched++;
      const left = expiring.get(id);
      const deadline = left !== undefined ? readAt + left : Math.max(held.deadline, readAt + this.#horizonMs);
      state.setDeadline(held, deadline, offset);
      held.readAt = readAt;
    }
    state.checkedAt = readAt;
    // The store holds as many as the view: this counter is a baseline deletions are counted from.
    if (watched === result.count && state.guard === undefined) state.listedChanges = result.changes;
    return moved || watched !== result.count;
  }

  /**
   * A change counter was reset: the store lost its state (a restart without persistence, a flush).
   * For one hold, whatever vanished is held while live instances write themselves back.
   */
  #suspectRestart(where: string): void {
    const until = this.#options.clock.now() + this.#holdMs;
    if (until <= this.#holdWindowUntil) return;
    this.#holdWindowUntil = until;
    this.#options.logger.warn('discovery: the store lost its change counter (a restart or flush?)', {
      where,
    });
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
        if (this.#checking.has(state.name)) continue;
        const removed = state.expire(now, this.#settleMs);
        // A late refresh would not be pushed: look once more shortly after, to take it back if so.
        if (removed.length > 0) state.recheckAt = now + this.#leadMs;
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
      if (this.#polling(now)) wake = this.#nextPollAt;
      for (const state of this.states.values()) {
        wake = Math.min(wake, this.#nextCheckAt(state));
        for (const [, held] of state.watched()) {
          const settled = !held.noExpiry && held.deadline - held.readAt <= this.#settleMs;
          if (settled) wake = Math.min(wake, held.deadline);
        }
      }
    }
    if (this.#reads.awaitingSubscription) wake = Math.min(wake, now + this.#retryMs);
    if (this.#reloadAt !== undefined) wake = Math.min(wake, this.#reloadAt);
    this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (wake === Number.POSITIVE_INFINITY) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, wake - now));
    this.#timer = this.#options.clock.setTimeout(() => this.#onTimer(), delay);
  }
}
