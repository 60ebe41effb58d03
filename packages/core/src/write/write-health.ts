import { RegistryError } from '../errors.js';
import type { EventSink } from '../events.js';
import { describeCause, warnLoudly } from '../notice.js';
import type { Instance } from '../record.js';
import type { Clock, Logger } from '../runtime.js';
import type { DuplicateState } from './duplicates.js';
import type { HealthCheckState } from './health-gate.js';
import type { WriteEvents } from './registration.js';

/** The write side's counters; `Registration.health()` adds what it derives from them. */
export interface WriteCounters {
  ok: boolean;
  lastRefreshAt: number | null;
  lastAttemptAt: number | null;
  lastError: RegistryError | null;
  consecutiveFailures: number;
  /** How long the last write that reached the store took, in ms. */
  lastWriteMs: number | null;
}

/** What the write side reports about this instance's own registration. */
export interface RegistrationHealth extends WriteCounters {
  readonly registered: boolean;
  /**
   * True when the last write reached the store, the record has not expired since, and no other process
   * writes this instance's key.
   */
  readonly ok: boolean;
  /** When the record last written expires, ms since the epoch (local clock); null when none. */
  readonly expiresAt: number | null;
  /** Time left before the record expires, in ms (0 once it has); null when none was written. */
  readonly expiresInMs: number | null;
  /**
   * True when the record may expire before the next write lands: less time left than the wait for the
   * next refresh plus the last write's duration (a slow or failing store), or already expired.
   */
  readonly atRisk: boolean;
  /** When the refresh loop writes next, or null when it is not running. */
  readonly nextRefreshAt: number | null;
  /** The health check (`register(..., { healthCheck })`), or null without one. */
  readonly check: HealthCheckState | null;
  readonly duplicate: DuplicateState;
}

/** Derives `health()` from the counters and the state around them; see `RegistrationHealth`. */
export function deriveHealth(input: {
  counters: WriteCounters;
  registered: boolean;
  /** `expires_at` of the last write that reached the store, in store time. */
  expiresAtStore: number | null;
  /** Store clock minus local clock, ms. */
  storeOffsetMs: number;
  storeNow: number;
  nextRefreshAt: number | null;
  check: HealthCheckState | null;
  duplicate: DuplicateState;
}): RegistrationHealth {
  const { counters, registered, expiresAtStore, storeNow, nextRefreshAt, duplicate } = input;
  const expiresInMs = expiresAtStore === null ? null : Math.max(0, expiresAtStore - storeNow);
  const localNow = storeNow - input.storeOffsetMs;
  const untilNextWrite = nextRefreshAt === null ? 0 : Math.max(0, nextRefreshAt - localNow);
  const atRisk =
    registered &&
    (expiresInMs === null ||
      expiresInMs <= 0 ||
      (nextRefreshAt !== null && expiresInMs < untilNextWrite + (counters.lastWriteMs ?? 0)));
  return {
    ...counters,
    ok: counters.ok && registered && expiresInMs !== null && expiresInMs > 0 && !duplicate.detected,
    registered,
    expiresAt: expiresAtStore === null ? null : expiresAtStore - input.storeOffsetMs,
    expiresInMs,
    atRisk,
    nextRefreshAt,
    check: input.check,
    duplicate,
  };
}

/**
 * Tracks how the writes go and reports outages: every failure to the logger (warn) and as
 * `refresh-failed`; with no logger given, still the first failure of an outage and its recovery, once
 * each, as a process warning (or `console.warn` off Node), so an outage is never silent.
 */
export class WriteHealth {
  readonly counters: WriteCounters = {
    ok: false,
    lastRefreshAt: null,
    lastAttemptAt: null,
    lastError: null,
    consecutiveFailures: 0,
    lastWriteMs: null,
  };
  #failingSince: number | null = null;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #events: EventSink<WriteEvents>;

  constructor(clock: Clock, logger: Logger, events: EventSink<WriteEvents>) {
    this.#clock = clock;
    this.#logger = logger;
    this.#events = events;
  }

  attempt(): number {
    const at = this.#clock.now();
    this.counters.lastAttemptAt = at;
    return at;
  }

  failed(error: unknown): RegistryError {
    const cause = describeCause(error);
    const registryError =
      error instanceof RegistryError
        ? error
        : new RegistryError('store-unavailable', `refresh failed${cause ? `: ${cause}` : ''}`, {
            cause: error,
          });
    const counters = this.counters;
    counters.ok = false;
    counters.lastError = registryError;
    counters.consecutiveFailures++;
    const first = this.#failingSince === null;
    this.#failingSince ??= this.#clock.now();
    const fields = {
      code: registryError.code,
      message: registryError.message,
      consecutiveFailures: counters.consecutiveFailures,
    };
    if (first) {
      warnLoudly(this.#logger, 'REGISTRY_STORE_FAILING', 'registry refresh failed; retrying', fields);
    } else {
      this.#logger.warn('registry refresh failed; retrying', fields);
    }
    this.#events.emit('refresh-failed', {
      error: registryError,
      consecutiveFailures: counters.consecutiveFailures,
    });
    return registryError;
  }

  succeeded(startedAt: number, instance: () => Instance): void {
    const now = this.#clock.now();
    const counters = this.counters;
    const failures = counters.consecutiveFailures;
    const failingSince = this.#failingSince;
    Object.assign(counters, {
      ok: true,
      lastRefreshAt: startedAt,
      lastError: null,
      consecutiveFailures: 0,
      lastWriteMs: now - startedAt,
    });
    this.#failingSince = null;
    if (this.#events.has('refreshed')) {
      this.#events.emit('refreshed', { instance: instance(), durationMs: now - startedAt });
    }
    if (failures > 0) {
      const downtimeMs = now - (failingSince ?? startedAt);
      warnLoudly(
        this.#logger,
        'REGISTRY_STORE_RECOVERED',
        'registry store reachable again; record rewritten',
        {
          failures,
          downtimeMs,
        },
      );
      this.#events.emit('recovered', { instance: instance(), failures, downtimeMs });
    }
  }
}
