import { RegistryError } from '../errors.js';
import { messageOf } from '../notice.js';
import type { Clock } from '../runtime.js';

/** A health check: resolves true (or anything but `false`) when this instance can serve. */
export type HealthCheck = () => boolean | undefined | Promise<boolean | undefined>;

/** What `health().check` reports. */
export interface HealthCheckState {
  /** False after the last check failed, threw or timed out: the record says `down`. */
  readonly passing: boolean;
  /** Why the last check failed, or null while it passes. */
  readonly lastFailure: string | null;
  readonly consecutiveFailures: number;
  /** When the check last ran to an answer (or its timeout), ms since the epoch. */
  readonly lastRunAt: number | null;
}

/**
 * Runs the user's health check with a deadline. A check that hangs past it counts as failed and is
 * abandoned: the next tick calls it afresh (waiting for the old call would keep the record `down`
 * for good after a single lost promise). Never rejects.
 */
export class HealthGate {
  readonly #check: HealthCheck;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  #state: HealthCheckState = { passing: true, lastFailure: null, consecutiveFailures: 0, lastRunAt: null };

  constructor(check: HealthCheck, timeoutMs: number, clock: Clock) {
    this.#check = check;
    this.#timeoutMs = timeoutMs;
    this.#clock = clock;
  }

  get state(): HealthCheckState {
    return this.#state;
  }

  /** Runs the check; resolves to whether the passing state changed. */
  async run(): Promise<boolean> {
    const failure = await this.#attempt();
    const before = this.#state.passing;
    this.#state =
      failure === null
        ? { passing: true, lastFailure: null, consecutiveFailures: 0, lastRunAt: this.#clock.now() }
        : {
            passing: false,
            lastFailure: failure,
            consecutiveFailures: this.#state.consecutiveFailures + 1,
            lastRunAt: this.#clock.now(),
          };
    return before !== this.#state.passing;
  }

  /** Null when the check passed, else why it did not. */
  async #attempt(): Promise<string | null> {
    let timer: unknown;
    const call = (async () => this.#check())();
    call.catch(() => {});
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = this.#clock.setTimeout(() => resolve('timeout'), this.#timeoutMs);
    });
    try {
      const outcome = await Promise.race([call, timeout]);
      if (outcome === 'timeout') return `no answer within ${this.#timeoutMs} ms (healthTimeout)`;
      return outcome === false ? 'the check returned false' : null;
    } catch (error) {
      return `the check threw: ${messageOf(error)}`;
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }
}

export function assertHealthCheck(check: unknown): asserts check is HealthCheck | undefined {
  if (check !== undefined && typeof check !== 'function') {
    throw new RegistryError(
      'invalid-argument',
      'healthCheck must be a function returning a boolean (or a promise of one)',
    );
  }
}
