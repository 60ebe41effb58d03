import type { Clock } from '../runtime.js';

export interface RefreshLoopOptions {
  clock: Clock;
  intervalMs: number;
  /** Fraction of the interval by which each delay is randomly lengthened or shortened. */
  jitter: number;
  /** One refresh; resolves true on success. Never rejects. */
  refresh: () => Promise<boolean>;
  random?: () => number;
}

/** First retry delay after a failed refresh; doubles per failure up to half the interval. */
const FIRST_RETRY_MS = 250;

/**
 * A chained timer: the next refresh is scheduled only after the previous one settled, so writes never
 * overlap, but measured from the START of the previous one: on a slow store the period stays the
 * interval (or the round trip, when that is longer), not interval plus round trip, which let records
 * expire between refreshes. After a failure it retries with exponential backoff capped at half the
 * interval, so a store that comes back is written to again within one interval.
 */
export class RefreshLoop {
  readonly #options: RefreshLoopOptions;
  #timer: unknown;
  #running = false;
  #failures = 0;
  #nextAt: number | null = null;

  constructor(options: RefreshLoopOptions) {
    this.#options = options;
  }

  get running(): boolean {
    return this.#running;
  }

  /** When the next refresh is due (ms since the epoch), or null when stopped. */
  get nextAt(): number | null {
    return this.#nextAt;
  }

  /**
   * Starts the loop after a first write that took `elapsedMs`: the next refresh comes one jittered
   * interval after that write began (or after a backoff, when it failed).
   */
  start(lastRefreshOk: boolean, elapsedMs = 0): void {
    if (this.#running) return;
    this.#running = true;
    this.#failures = lastRefreshOk ? 0 : 1;
    this.#schedule(lastRefreshOk ? Math.max(1, this.#successDelay() - elapsedMs) : this.#failureDelay());
  }

  stop(): void {
    this.#running = false;
    this.#nextAt = null;
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The delay before the next try, given how the last one went. */
  retryDelayAfter(failures: number): number {
    const backoff = Math.min(this.#options.intervalMs / 2, FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1));
    return this.#jittered(backoff);
  }

  #successDelay(): number {
    return this.#jittered(this.#options.intervalMs);
  }

  #failureDelay(): number {
    return this.retryDelayAfter(this.#failures);
  }

  #jittered(delayMs: number): number {
    const random = this.#options.random ?? Math.random;
    return Math.max(1, delayMs * (1 + this.#options.jitter * (2 * random() - 1)));
  }

  #schedule(delayMs: number): void {
    if (!this.#running) return;
    const { clock } = this.#options;
    this.#nextAt = clock.now() + delayMs;
    this.#timer = clock.setTimeout(() => void this.#tick(), delayMs);
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    if (!this.#running) return;
    const startedAt = this.#options.clock.now();
    const ok = await this.#options.refresh();
    this.#failures = ok ? 0 : this.#failures + 1;
    if (!ok) {
      this.#schedule(this.#failureDelay());
      return;
    }
    const elapsedMs = this.#options.clock.now() - startedAt;
    this.#schedule(Math.max(1, this.#successDelay() - elapsedMs));
  }
}
