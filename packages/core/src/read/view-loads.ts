import type { ResolvedOptions } from '../options.js';
import type { Instance } from '../record.js';
import type { ServiceProbe } from '../store.js';
import { learnProbe, type ViewTiming } from './view-checks.js';
import { type JudgeHost, looksReset, ViewJudge } from './view-judge.js';
import type { ResolvedDiscoveryOptions } from './view-options.js';
import type { ViewReads } from './view-reads.js';
import { ServiceState } from './view-state.js';
import type { ViewSink } from './view-sync.js';

/** What the loads need of the sync engine, beyond what the judge does. */
export interface LoadHost extends JudgeHost {
  readonly revision: { value: number };
  /** After notices resumed: poll as if the store could not push until then, to catch what was lost. */
  readonly pollUntil: number;
  /** A full reload applied: no full one is needed, the view is current (and loaded, the first time). */
  reloaded(now: number): void;
}

/**
 * The view's store reads: full reloads, re-lists of noticed services, polls and expiry probes, each
 * applied through the judge. One runs at a time (the sync engine's work loop calls them).
 */
export class ViewLoads {
  /** Services being read now: the timer leaves their deadlines to the read. */
  readonly checking = new Set<string>();
  /** Services with a change notice not yet followed, and those a notice named (not a poll). */
  readonly dirty = new Set<string>();
  readonly noticed = new Set<string>();
  readonly judge: ViewJudge;
  /** A reload to follow one that skipped records: a record rewritten with a stale expiry, read again. */
  reloadAt: number | undefined;
  nextPollAt = 0;
  readonly #options: ResolvedOptions;
  readonly #view: ResolvedDiscoveryOptions;
  readonly #reads: ViewReads;
  readonly #timing: ViewTiming;
  readonly #host: LoadHost;
  /** Follow-ups repeat until a reload skips nothing, up to this time (one write interval after the first). */
  #followUntil: number | undefined;
  #namespaceChanges: number | undefined;

  constructor(
    options: ResolvedOptions,
    view: ResolvedDiscoveryOptions,
    reads: ViewReads,
    timing: ViewTiming,
    sink: ViewSink,
    host: LoadHost,
  ) {
    this.#options = options;
    this.#view = view;
    this.#reads = reads;
    this.#timing = timing;
    this.#host = host;
    this.judge = new ViewJudge(options, view, reads, timing, sink, host);
  }

  #state(service: string): ServiceState {
    let state = this.#host.states.get(service);
    if (state === undefined) {
      state = new ServiceState(service, this.#host.revision);
      this.#host.states.set(service, state);
    }
    return state;
  }

  /**
   * Reads every service again. `followUp`: this reload follows one that skipped records (see
   * `#followSkipped`); it may continue that window but never opens a new one.
   */
  async reloadAll(followUp = false): Promise<void> {
    // While the reload runs, no held deadline expires from the timer: the reload judges them.
    const checking = [...this.#host.states.keys()];
    for (const name of checking) this.checking.add(name);
    try {
      await this.#reloadAllNow(followUp);
    } finally {
      for (const name of checking) this.checking.delete(name);
    }
  }

  async #reloadAllNow(followUp: boolean): Promise<void> {
    // Only this reload's skips count: a crashed instance's record listed in the moment between its
    // own expiry and the store's, by an ordinary relist, is no late-landing write.
    this.#reads.takeRejected();
    if (!this.#reads.pushes && this.#reads.counts) this.#namespaceChanges = await this.#reads.changeCount();
    const before = this.judge.countersBefore();
    if (this.#view.services === undefined) {
      const grouped = new Map<string, Instance[]>();
      for (const instance of await this.#reads.list(undefined)) {
        const list = grouped.get(instance.name);
        if (list === undefined) grouped.set(instance.name, [instance]);
        else list.push(instance);
      }
      const names = new Set([...this.#host.states.keys(), ...grouped.keys()]);
      await this.judge.applyLists(
        [...names].map((name) => ({
          state: this.#state(name),
          fetched: grouped.get(name) ?? [],
          unprompted: false,
        })),
        before,
      );
    } else {
      const names = [...this.#host.states.keys()];
      const lists = await Promise.all(names.map((name) => this.#reads.list(name)));
      await this.judge.applyLists(
        names.map((name, index) => ({
          state: this.#state(name),
          fetched: lists[index] ?? [],
          unprompted: false,
        })),
        before,
      );
    }
    await this.#learnBaselines();
    this.dirty.clear();
    this.noticed.clear();
    const now = this.#options.clock.now();
    this.#followSkipped(now, followUp);
    this.nextPollAt = now + this.#view.pollMs;
    this.#host.reloaded(now);
  }

  /**
   * Services whose change counter the view has never read are probed once, right after the load that
   * listed them: the counter is the baseline that tells a store that lost its records (a flush or a
   * restart resets it) from a fleet that deregistered, also in a view's first seconds, before its
   * first scheduled probe. Read after the list, it can only make the guard hold more, never less.
   * Only on a store that pushes: one that does not is polled through the namespace's counter, whose
   * reset the poll sees (and a request more per view start would cost an edge function).
   */
  async #learnBaselines(): Promise<void> {
    if (!this.#reads.pushes || !this.#reads.probes || this.#view.guardShare >= 1) return;
    const unknown = [...this.#host.states.values()].filter((state) => state.changes === undefined);
    if (unknown.length === 0) return;
    const started = this.#options.clock.now();
    const results = await this.#reads.probe(
      unknown.map((state) => state.name),
      this.#timing.horizonMs,
    );
    unknown.forEach((state, index) => {
      const result = results[index];
      if (result !== undefined) this.#applyProbe(state, result, started);
    });
  }

  /**
   * Records a reload skipped are read again shortly after, and again until none is, for one write
   * interval: after an outage a writer's refresh that waited in its connection's queue lands with
   * the expiry it was given before the outage (dead on arrival, skipped), and the writer's next
   * write, which fixes it, is a routine refresh the store does not push. Only a reload that is no
   * follow-up opens that window, so records of crashed instances, skipped in the moment between
   * their expiry and the store's, cost at most one window of reloads, never a chain of them.
   */
  #followSkipped(now: number, followUp: boolean): void {
    if (this.#reads.takeRejected() === 0) {
      this.#followUntil = undefined;
      return;
    }
    if (!followUp) this.#followUntil = now + this.#timing.holdMs + this.#timing.settleMs;
    if (this.#followUntil !== undefined && now < this.#followUntil)
      this.reloadAt = now + this.#timing.settleMs;
    else this.#followUntil = undefined;
  }

  async relist(services: readonly string[]): Promise<void> {
    const noticed = services.filter((name) => this.noticed.delete(name));
    for (const name of services) this.checking.add(name);
    try {
      const before = this.judge.countersBefore();
      const lists = await Promise.all(services.map((name) => this.#reads.list(name)));
      await this.judge.applyLists(
        services.map((name, index) => ({
          state: this.#state(name),
          fetched: lists[index] ?? [],
          unprompted: !noticed.includes(name),
        })),
        before,
      );
    } catch (error) {
      // Notices that could not be followed are followed after the store answers again (a full reload).
      for (const name of noticed) this.noticed.add(name);
      throw error;
    } finally {
      for (const name of services) this.checking.delete(name);
    }
  }

  polling(now: number): boolean {
    return !this.#reads.pushes || now < this.#host.pollUntil;
  }

  /** A store that cannot push: the cheapest read that says whether anything changed. */
  async poll(now: number): Promise<void> {
    this.nextPollAt = now + this.#view.pollMs;
    if (!this.#reads.counts) {
      await this.reloadAll();
      return;
    }
    const changes = await this.#reads.changeCount();
    if (changes === this.#namespaceChanges) return;
    if (looksReset(this.#namespaceChanges, changes)) this.judge.suspectRestart('the namespace');
    this.#namespaceChanges = changes;
    if (this.#view.services === undefined || !this.#reads.probes) await this.reloadAll();
    else await this.check([...this.#host.states.values()]);
  }

  async check(states: readonly ServiceState[]): Promise<void> {
    for (const state of states) state.recheckAt = undefined;
    const mustList = states.filter((state) => state.guard !== undefined || !this.#reads.probes);
    const probed = states.filter((state) => !mustList.includes(state));
    if (probed.length > 0) {
      const started = this.#options.clock.now();
      for (const state of probed) this.checking.add(state.name);
      let results: ServiceProbe[];
      try {
        results = await this.#reads.probe(
          probed.map((state) => state.name),
          this.#timing.horizonMs,
        );
      } finally {
        for (const state of probed) this.checking.delete(state.name);
      }
      probed.forEach((state, index) => {
        const result = results[index];
        if (result === undefined || this.#applyProbe(state, result, started)) mustList.push(state);
      });
    }
    if (mustList.length > 0) await this.relist(mustList.map((state) => state.name));
  }

  /** Learns refreshed expiries from a probe; true when the service must be re-listed. */
  #applyProbe(state: ServiceState, result: ServiceProbe, readAt: number): boolean {
    if (looksReset(state.changes, result.changes)) this.judge.suspectRestart(state.name);
    return learnProbe(state, result, readAt, this.#timing.horizonMs, this.#reads.storeOffsetMs);
  }
}
