import { type PutResult, type RecordRef, RegistryError } from '@service-registry/core';
import { putScript } from './scripts.js';

/** What a `putCall` answered. */
export interface PutReply {
  /** True when the instance was new to the service's index (a join, or a store that lost it). */
  readonly added: boolean;
  /** The upkeep horizon in the store's ms: hand it to the next put of the service (`UpkeepHorizons`). */
  readonly horizon: number;
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

/**
 * Reads the `{added, horizon}` or `{added, horizon, previous}` reply of a `putCall`: previous is there
 * only when the record held another value than `expectPrevious` (another writer's).
 */
export function readPutReply(reply: unknown): PutReply {
  if (!Array.isArray(reply) || reply.length < 2) throw invalid('shape', reply);
  const added = replyNumber(reply[0], 'added count') === 1;
  const horizon = replyNumber(reply[1], 'horizon');
  if (reply.length < 3) return { added, horizon, result: { matched: true } };
  const previous: unknown = reply[2];
  if (typeof previous === 'string') return { added, horizon, result: { matched: false, previous } };
  if (typeof previous === 'number')
    return { added, horizon, result: { matched: false, previous: String(previous) } };
  if (previous instanceof Uint8Array) {
    return { added, horizon, result: { matched: false, previous: new TextDecoder().decode(previous) } };
  }
  throw invalid('previous value', previous);
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
