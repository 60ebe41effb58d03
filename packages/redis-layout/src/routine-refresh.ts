import { type PutResult, type RecordRef, RegistryError } from '@service-registry/core';
import { assertPutArguments, prepareRef, ttlMilliseconds } from './calls.js';
import { type PutReply, previousValue, type UpkeepHorizons } from './put-reply.js';

/*
 * A routine refresh (same content, instance indexed, upkeep not due) needs no script: three plain
 * commands in one pipeline do what the put script's routine path does, at a fraction of its server
 * time (EVALSHA alone costs several times a SET):
 *
 *   SET <record> <value> PXAT <expiresAt> [GET]   the record, with an absolute expiry
 *   ZADD <index> XX CH <expiresAt> <id>            its index entry, only if it is there
 *   PTTL <record>                                  how long the record really has
 *
 * The writer picks expiresAt from the store's clock as it learned it from its own earlier replies
 * (a script reply carries the record's expiry, a routine one its PTTL), so the index score is still
 * exactly the record's expiry. Anything unusual sends the put script right after, in the same put:
 * an instance missing from the index (ZADD XX changed nothing: a join, a lost or pruned index; the
 * script then bumps the counters and publishes), a record that does not live about one ttl (the
 * store's clock moved, or the write waited long before it ran), or an error reply.
 */

/** One Redis command as its words, for a client's `call` or pipeline. */
export type RedisCommand = readonly [string, ...string[]];

/** A reply of a pipelined command: ioredis' `[error, result]` pair. */
export type CommandReply = readonly [Error | null | undefined, unknown];

/** What `RoutineRefresh.read` made of a routine refresh's replies. */
export type RoutineOutcome =
  | {
      /** The refresh is complete. */
      readonly done: true;
      /** The duplicate check's outcome (a put given `expectPrevious`). */
      readonly result: PutResult;
    }
  | {
      /** Send the put script now; pass `expectPrevious` only when `result` is undefined. */
      readonly done: false;
      /** The duplicate check's outcome, when the routine `SET ... GET` ran. */
      readonly result: PutResult | undefined;
      /** The server refused `PXAT` or `SET ... GET` (before Redis 6.2): use the script from now on. */
      readonly unsupported: boolean;
      /** Why the script is needed, for tests and logs. */
      readonly reason: 'not-indexed' | 'expiry' | 'error';
    };

// A learned clock older than this is not trusted: the next put runs the script, which teaches it.
const CLOCK_STALE_MS = 60_000;
// How far a routine record's life may stray from the ttl: the larger of this and a tenth of the ttl.
const MIN_SLACK_MS = 250;

/**
 * The store's clock as a writer needs it: the store's time at which a command sent now will run, on
 * this host's monotonic clock, learned from the last reply (no `TIME` calls). It is measured from the
 * moment the command was sent, not the middle of its round trip, so the wait before the server ran it
 * is included: a routine record then lives about one ttl from when it was written, as the script's
 * `SET PX` does, instead of one ttl less that wait.
 */
class LearnedClock {
  #offset = 0;
  #sampledAt = Number.NEGATIVE_INFINITY;

  /** A command sent at local time `sentAt` ran at the store's time `storeNow`. */
  learn(storeNow: number, sentAt: number): void {
    this.#offset = storeNow - sentAt;
    this.#sampledAt = sentAt;
  }

  /** The store's time for a command sent at local time `at`, or undefined when none is known. */
  now(at: number): number | undefined {
    if (at - this.#sampledAt > CLOCK_STALE_MS) return undefined;
    return at + this.#offset;
  }
}

/** Which refreshes may skip the put script, the commands they send, and what their replies mean. */
export class RoutineRefresh {
  readonly #horizons: UpkeepHorizons;
  readonly #clock = new LearnedClock();
  // The last expiry written for each ref: a refresh within the same millisecond as the last write
  // gets the next one, since `ZADD XX CH` reads an unchanged score as a missing entry.
  readonly #written = new WeakMap<RecordRef, number>();

  /** `horizons`: the upkeep horizons the store's script replies teach (shared with its script path). */
  constructor(horizons: UpkeepHorizons) {
    this.#horizons = horizons;
  }

  /**
   * The record expiry (store ms) for a routine refresh of `ref` sent at local time `at`
   * (`performance.now()`), or undefined when the put script must run: content changed, no upkeep
   * horizon or store time learned yet, or the upkeep is due (the expiry passes the horizon, or the
   * horizon lies over a ttl ahead, as after a restart with another clock).
   */
  plan(ref: RecordRef, ttlMs: number, changed: boolean, at: number): number | undefined {
    const ttl = ttlMilliseconds(ttlMs);
    if (changed) return undefined;
    const horizon = this.#horizons.get(ref);
    const now = this.#clock.now(at);
    if (horizon === undefined || now === undefined) return undefined;
    const last = this.#written.get(ref);
    const expiresAt = Math.max(Math.floor(now) + ttl, last === undefined ? 0 : last + 1);
    if (expiresAt > horizon || horizon > expiresAt + ttlMs) return undefined;
    return expiresAt;
  }

  /** The commands of a routine refresh planned with `plan` (keys as `putCall` declares them). */
  commands(ref: RecordRef, value: string, expiresAt: number, expectPrevious?: string): RedisCommand[] {
    const [set, zadd] = this.writes(ref, value, expiresAt, expectPrevious);
    return [set, zadd, clockCommand(ref)];
  }

  /**
   * The two writes of `commands` without its `PTTL`: for refreshes sent together in one write, which
   * share one `PTTL` (`clockCommand` of the last one) as the batch's clock (`readWrites`).
   */
  writes(
    ref: RecordRef,
    value: string,
    expiresAt: number,
    expectPrevious?: string,
  ): [RedisCommand, RedisCommand] {
    const { set, entry } = this.batchWrites(ref, value, expiresAt, expectPrevious);
    return [set, ['ZADD', entry.index, 'XX', 'CH', entry.score, entry.member]];
  }

  /**
   * `writes` with the index entry as its parts, for a batch that writes the entries of one index in
   * one `ZADD <index> XX CH <score> <member> ...` (`indexWrite`).
   */
  batchWrites(
    ref: RecordRef,
    value: string,
    expiresAt: number,
    expectPrevious?: string,
  ): { readonly set: RedisCommand; readonly entry: IndexEntry } {
    const prepared = prepareRef(ref);
    assertPutArguments(value, expectPrevious);
    const [record, index] = prepared.slotKeys as [string, string];
    this.#written.set(ref, expiresAt);
    const at = String(expiresAt);
    const set: RedisCommand =
      expectPrevious === undefined
        ? ['SET', record, value, 'PXAT', at]
        : ['SET', record, value, 'PXAT', at, 'GET'];
    return { set, entry: { index, score: at, member: prepared.instanceId } };
  }

  /**
   * Reads the replies of `commands`. A connection failure (an error that is no server reply) is
   * thrown: the script would fail the same way. `sentAt`: the local `performance.now()` when the
   * commands were sent.
   */
  read(
    replies: readonly CommandReply[],
    expiresAt: number,
    ttlMs: number,
    expectPrevious: string | undefined,
    sentAt: number,
  ): RoutineOutcome {
    if (replies.length !== 3) {
      throw new RegistryError(
        'store-unavailable',
        `a routine refresh got ${replies.length} replies to 3 commands`,
      );
    }
    const [set, zadd, pttl] = replies as [CommandReply, CommandReply, CommandReply];
    const [error] = pttl;
    if (error && error.name !== 'ReplyError') throw error;
    const storeNow = batchTime(pttl, expiresAt);
    const outcome = this.readWrites([set, zadd], expiresAt, ttlMs, expectPrevious, sentAt, storeNow);
    // An error reply to the PTTL (storeNow is then undefined, so not done) reads as an error.
    return error && !outcome.done ? { ...outcome, reason: 'error' } : outcome;
  }

  /**
   * Reads the replies of `writes`, given the store's time when they ran (`batchTime` of the batch's
   * `PTTL`; undefined when that said nothing, which sends the script). A connection failure is thrown.
   */
  readWrites(
    replies: readonly CommandReply[],
    expiresAt: number,
    ttlMs: number,
    expectPrevious: string | undefined,
    sentAt: number,
    storeNow: number | undefined,
  ): RoutineOutcome {
    const [set, zadd] = replies as [CommandReply, CommandReply];
    for (const [error] of replies) {
      if (error && error.name !== 'ReplyError') throw error;
    }
    const result = set[0] ? undefined : duplicateCheck(set[1], expectPrevious);
    if (set[0] || zadd[0]) {
      const refused = set[0] !== null && set[0] !== undefined && /syntax error/i.test(set[0].message);
      return { done: false, result, unsupported: refused, reason: 'error' };
    }
    if (Number(zadd[1]) !== 1) return { done: false, result, unsupported: false, reason: 'not-indexed' };
    if (storeNow === undefined) return { done: false, result, unsupported: false, reason: 'expiry' };
    const left = expiresAt - storeNow;
    const slack = Math.max(MIN_SLACK_MS, ttlMs / 10);
    if (left < ttlMs - slack || left > ttlMs + slack) {
      return { done: false, result, unsupported: false, reason: 'expiry' };
    }
    this.#clock.learn(storeNow, sentAt);
    return { done: true, result: result ?? { matched: true } };
  }

  /** Learns the horizon and the store's time from the put script's reply to a call sent at `sentAt`. */
  learnScript(ref: RecordRef, reply: PutReply, ttlMs: number, sentAt: number): void {
    this.#horizons.learn(ref, reply.horizon);
    this.#written.set(ref, reply.expiresAt);
    this.#clock.learn(reply.expiresAt - ttlMilliseconds(ttlMs), sentAt);
  }
}

/** One index entry a routine refresh writes: `ZADD <index> XX CH <score> <member>`. */
export interface IndexEntry {
  readonly index: string;
  readonly score: string;
  readonly member: string;
}

/**
 * One `ZADD XX CH` for several entries of one index (distinct members), and what its reply means
 * for each of them: `indexed(reply)` is the reply `readWrites` expects for each entry's own `ZADD`.
 * `XX CH` counts the entries that were there and got a new score; every routine expiry is newer than
 * the entry's last, so a count short of the entries means one at least was missing, and as the reply
 * does not say which, each of them is read as missing (the put script then completes each: a
 * re-index for the missing, a no-op for the rest).
 */
export function indexWrite(entries: readonly IndexEntry[]): {
  readonly command: RedisCommand;
  readonly indexed: (reply: CommandReply) => CommandReply;
} {
  const first = entries[0];
  if (first === undefined) throw new RegistryError('invalid-argument', 'an index write needs an entry');
  const command: [string, ...string[]] = ['ZADD', first.index, 'XX', 'CH'];
  for (const entry of entries) command.push(entry.score, entry.member);
  const count = entries.length;
  return {
    command,
    indexed: (reply) => (reply[0] ? reply : [null, Number(reply[1]) === count ? 1 : 0]),
  };
}

/** The `PTTL` that reads the store's clock after a routine refresh of `ref` (or a batch of them). */
export function clockCommand(ref: RecordRef): RedisCommand {
  return ['PTTL', prepareRef(ref).slotKeys[0] as string];
}

/**
 * The store's time when a `PTTL` of a record just written with expiry `expiresAt` ran, or undefined
 * when its reply says nothing about that: an error, no such key (-2) or no expiry (-1).
 */
export function batchTime(pttl: CommandReply, expiresAt: number): number | undefined {
  if (pttl[0]) return undefined;
  const left = Number(pttl[1]);
  return Number.isFinite(left) && left >= 0 ? expiresAt - left : undefined;
}

// What `SET ... GET` answered, as the put script's duplicate check would: an empty record matches.
function duplicateCheck(held: unknown, expectPrevious: string | undefined): PutResult | undefined {
  if (expectPrevious === undefined || held === null || held === undefined) return { matched: true };
  const previous = previousValue(held);
  if (previous === undefined) return undefined;
  return previous.startsWith(expectPrevious) ? { matched: true } : { matched: false, previous };
}
