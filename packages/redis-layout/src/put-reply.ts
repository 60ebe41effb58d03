import { type PutResult, type RecordRef, RegistryError } from '@service-registry/core';
import { putScript } from './scripts.js';

/** What a `putCall` answered. */
export interface PutReply {
  /** True when the instance was new to the service's index (a join, or a store that lost it). */
  readonly added: boolean;
  /** The upkeep horizon in the store's ms: hand it to the next put of the service (`UpkeepHorizons`). */
  readonly horizon: number;
  /** The record's new expiry in the store's ms (the store's time when it ran, plus the ttl). */
  readonly expiresAt: number;
  /** The duplicate check's outcome; meaningful only for a put given `expectPrevious`. */
  readonly result: PutResult;
}

function invalid(what: string, value: unknown): RegistryError {
  return new RegistryError(
    'store-unavailable',
    `unexpected ${what} in a ${putScript.name} reply: ${typeof value}`,
  );
}

// A REST client may hand integers back as strings; ioredis may hand a value back as a Buffer.
function replyNumber(item: unknown, what: string): number {
  const value = typeof item === 'string' ? Number(item) : item;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(what, item);
  return value;
}

/** A previous value as a client hands it back: a string, a number (a REST client's JSON) or bytes. */
export function previousValue(previous: unknown): string | undefined {
  if (typeof previous === 'string') return previous;
  if (typeof previous === 'number') return String(previous);
  if (previous instanceof Uint8Array) return new TextDecoder().decode(previous);
  return undefined;
}

/**
 * Reads the `{added, horizon, expiresAt}` or `{added, horizon, expiresAt, previous}` reply of a
 * `putCall`: previous is there only when the record held another value than `expectPrevious`
 * (another writer's).
 */
export function readPutReply(reply: unknown): PutReply {
  if (!Array.isArray(reply) || reply.length < 3) throw invalid('shape', reply);
  const added = replyNumber(reply[0], 'added count') === 1;
  const horizon = replyNumber(reply[1], 'horizon');
  const expiresAt = replyNumber(reply[2], 'expiry');
  if (reply.length < 4) return { added, horizon, expiresAt, result: { matched: true } };
  const previous = previousValue(reply[3]);
  if (previous === undefined) throw invalid('previous value', reply[3]);
  return { added, horizon, expiresAt, result: { matched: false, previous } };
}

/** The duplicate check's outcome of a `putCall` given `expectPrevious`; see `readPutReply`. */
export function parsePutReply(reply: unknown): PutResult {
  return readPutReply(reply).result;
}

/** How many services' horizons one `UpkeepHorizons` keeps; the least recently written go first. */
const MAX_SERVICES = 10_000;

/**
 * The upkeep horizon each service's last put answered, kept by a store for its next puts, so routine
 * refreshes skip the upkeep check on the server. Values are the store's own times, never compared with
 * this host's clock: the script compares them with the record's expiry. A wrong or stale one costs at
 * most one extra check (the script asks the store when the horizon has passed, lies over a ttl ahead,
 * or the instance is new to the index).
 */
export class UpkeepHorizons {
  readonly #horizons = new Map<string, number>();

  /** The horizon to pass to the next `putCall` of this service, if one is known. */
  get(ref: RecordRef): number | undefined {
    return this.#horizons.get(`${ref.namespace}\u0000${ref.service}`);
  }

  /** Keeps the horizon a put of this service answered. */
  learn(ref: RecordRef, horizon: number): void {
    const key = `${ref.namespace}\u0000${ref.service}`;
    this.#horizons.delete(key);
    this.#horizons.set(key, horizon);
    if (this.#horizons.size > MAX_SERVICES) {
      const oldest = this.#horizons.keys().next().value;
      if (oldest !== undefined) this.#horizons.delete(oldest);
    }
  }
}
