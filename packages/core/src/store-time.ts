import { warnLoudly } from './notice.js';
import type { Clock, Logger } from './runtime.js';
import type { RegistryStore } from './store.js';

/**
 * Offsets up to this are normal NTP noise and pass quietly; a larger one is corrected all the same,
 * but reported (once, and in `health().clock`), because it means a host's clock is broken. In ms.
 */
export const CLOCK_SKEW_WARN_MS = 1000;
/** How often the offset to the store's clock is measured again, in ms: drift stays far below 1 ms. */
export const CLOCK_RESYNC_MS = 30_000;
/** Longest wait for the first measurement before a write or read goes on with the local clock, in ms. */
const FIRST_SYNC_WAIT_MS = 1000;
/**
 * A measurement whose half round trip is longer than this (a stalled event loop, a queued connection)
 * does not replace a tighter estimate, and is measured again after `CLOCK_RETRY_MS`, in ms; each
 * further slow answer in a row doubles that wait, up to `CLOCK_RESYNC_MS`, so an overloaded process
 * does not add a `TIME` every 2 s per registry to its load.
 */
export const CLOCK_TRUSTED_HALF_TRIP_MS = 250;
const CLOCK_RETRY_MS = 2000;
/** Slow answers in a row past which the retry wait no longer grows (2 s × 2^4 passes 30 s). */
const MAX_LOOSE_STREAK = 4;

/** What `health().clock` reports. */
export interface ClockHealth {
  /** The store's clock minus this process's, in ms; null before the first measurement or without `time()`. */
  readonly offsetMs: number | null;
  /** Half the round trip of the measurement: how far off the estimate can be, in ms. */
  readonly uncertaintyMs: number | null;
  /** True when this process's clock is off the store's by more than `CLOCK_SKEW_WARN_MS` (corrected). */
  readonly skewed: boolean;
  /** `store` when expiry is written and checked in the store's time, `local` without `time()`. */
  readonly source: 'store' | 'local';
}

/**
 * This process's estimate of the store's clock (NTP-like: the store's time at the midpoint of the round
 * trip), so `expires_at` is written and checked on one clock, the store's, whatever the hosts' clocks
 * say. A store without `time()` leaves the local clock in charge. Measures at most once per
 * `CLOCK_RESYNC_MS`; a failed measurement keeps the last estimate.
 */
export class StoreTime {
  readonly #store: RegistryStore;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #offsetMs: number | null = null;
  #uncertaintyMs: number | null = null;
  #measuredAt: number | null = null;
  #syncing: Promise<void> | undefined;
  #warned = false;
  /** Slow answers in a row: how long to wait before the next measurement. */
  #looseStreak = 0;

  constructor(store: RegistryStore, clock: Clock, logger: Logger) {
    this.#store = store;
    this.#clock = clock;
    this.#logger = logger;
  }

  /** Whether the store tells time at all. */
  get available(): boolean {
    return this.#store.capabilities.time === true && typeof this.#store.time === 'function';
  }

  /** The store's time as best known now, ms since the epoch. */
  now(): number {
    return this.#clock.now() + (this.#offsetMs ?? 0);
  }

  /**
   * Starts a measurement when the last is older than `CLOCK_RESYNC_MS`. Resolves at once when an
   * estimate exists (the new one arrives in the background); before the first, after it (at most
   * `FIRST_SYNC_WAIT_MS`). Never rejects.
   */
  refresh(): Promise<void> {
    if (!this.available) return Promise.resolve();
    const measuredAt = this.#measuredAt;
    if (measuredAt !== null && this.#clock.now() - measuredAt < CLOCK_RESYNC_MS) return Promise.resolve();
    this.#syncing ??= this.#measure().finally(() => {
      this.#syncing = undefined;
    });
    if (this.#offsetMs !== null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = this.#clock.setTimeout(resolve, FIRST_SYNC_WAIT_MS);
      void this.#syncing?.then(() => {
        this.#clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  health(): ClockHealth {
    const offsetMs = this.#offsetMs;
    return {
      offsetMs,
      uncertaintyMs: this.#uncertaintyMs,
      skewed: offsetMs !== null && Math.abs(offsetMs) > CLOCK_SKEW_WARN_MS,
      source: offsetMs === null ? 'local' : 'store',
    };
  }

  async #measure(): Promise<void> {
    const sentAt = this.#clock.now();
    let storeTime: number;
    try {
      storeTime = await (this.#store.time as () => Promise<number>)();
    } catch (error) {
      // The write or read that follows meets the same fault and reports it; do not double it.
      this.#logger.debug('store time unavailable; keeping the last clock offset', { error: String(error) });
      this.#measuredAt = sentAt;
      return;
    }
    const receivedAt = this.#clock.now();
    if (typeof storeTime !== 'number' || !Number.isFinite(storeTime)) return;
    const halfTrip = (receivedAt - sentAt) / 2;
    const offsetMs = Math.round(storeTime + halfTrip - receivedAt);
    // A slow answer (often one that waited behind a busy event loop, so its midpoint is biased)
    // says little: keep a tighter estimate, and measure again soon instead of in 30 s.
    const loose = halfTrip > CLOCK_TRUSTED_HALF_TRIP_MS;
    if (loose) {
      const retryMs = Math.min(CLOCK_RESYNC_MS, CLOCK_RETRY_MS * 2 ** this.#looseStreak);
      this.#looseStreak = Math.min(MAX_LOOSE_STREAK, this.#looseStreak + 1);
      this.#measuredAt = receivedAt - CLOCK_RESYNC_MS + retryMs;
    } else {
      this.#looseStreak = 0;
      this.#measuredAt = receivedAt;
    }
    if (loose && this.#uncertaintyMs !== null && this.#uncertaintyMs < halfTrip) return;
    this.#offsetMs = offsetMs;
    this.#uncertaintyMs = Math.ceil(halfTrip);
    // Skew is reported only when the measurement proves it, not when its own round trip could explain it.
    if (Math.abs(offsetMs) - halfTrip > CLOCK_SKEW_WARN_MS && !this.#warned) {
      this.#warned = true;
      warnLoudly(
        this.#logger,
        'REGISTRY_CLOCK_SKEW',
        `this host's clock is ${offsetMs > 0 ? 'behind' : 'ahead of'} the ${this.#store.name} store's by ${Math.abs(offsetMs)} ms; expiry uses the store's clock, but fix the host's time sync`,
        { offsetMs },
      );
    } else if (Math.abs(offsetMs) <= CLOCK_SKEW_WARN_MS && this.#warned) {
      this.#warned = false;
      this.#logger.info('clock offset to the store back within bounds', { offsetMs });
    }
  }
}
