import type { RecordRef } from '@service-registry/core';
import {
  batchTime,
  type CommandReply,
  clockCommand,
  type IndexEntry,
  indexWrite,
  type RedisCommand,
} from '@service-registry/redis-layout';
import type { RedisClientLike } from './client.js';

/*
 * Routine refreshes sent in one turn of the event loop (a process holding many registrations: their
 * replies arrive together and their next refreshes start together) go out in one socket write. Each
 * sends its own `SET`; the index entries of one service share one `ZADD <index> XX CH s1 m1 s2 m2 …`
 * (`indexWrite`: a count short of the entries sends each of them to the script), and the batch
 * shares one `PTTL`: the store's time when the batch ran, read from the last record written. Each
 * refresh checks its own record's life against it (records written in one pipeline run back to back),
 * so the guarantee is the one a `PTTL` per refresh gave. With many registrations of few services
 * that is little more than one command a refresh; a refresh alone in its turn (one registration per
 * process) still sends three.
 */

const replyOf = (result: unknown): CommandReply => [null, result];
const failureOf = (error: Error): CommandReply => [error, undefined];

/** What one refresh of a batch gets back: its two replies and the batch's store time. */
export interface BatchedReplies {
  /** The `SET`'s reply, and the reply its own `ZADD XX CH` of one entry would have had. */
  readonly replies: readonly CommandReply[];
  /** The store's time when the batch ran; undefined when its `PTTL` said nothing. */
  readonly storeNow: number | undefined;
}

interface Stream {
  cork(): void;
  uncork(): void;
}

/** The entries of one index in this batch, and the refreshes waiting for their shared `ZADD`. */
interface IndexGroup {
  readonly entries: IndexEntry[];
  readonly members: Set<string>;
  readonly waiting: ((reply: CommandReply) => void)[];
}

interface OpenBatch {
  readonly stream: Stream;
  last: { readonly ref: RecordRef; readonly expiresAt: number } | undefined;
  readonly storeNow: Promise<number | undefined>;
  /** The open group of each index, and every group in the order they were opened. */
  readonly indexes: Map<string, IndexGroup>;
  readonly groups: IndexGroup[];
}

/** The socket of a single connection when it can be corked; undefined on a Cluster or a stand-in. */
export function corkableStream(client: RedisClientLike): Stream | undefined {
  if (client.isCluster === true) return undefined;
  const stream = client.stream;
  if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return undefined;
  return stream as Stream;
}

/** Sends one command on `client`, never rejecting (an error is its reply's). */
function callOne(client: RedisClientLike, [command, ...args]: RedisCommand): Promise<CommandReply> {
  return client.call(command, ...args).then(replyOf, failureOf);
}

/** One client's batches: at most one open at a time, closed (written out) at the end of the turn. */
export class RoutineBatches {
  readonly #client: RedisClientLike;
  #open: OpenBatch | undefined;

  constructor(client: RedisClientLike) {
    this.#client = client;
  }

  /**
   * Sends the writes of a routine refresh of `ref` (expiry `expiresAt`) in this turn's batch: its
   * `SET` now, its index entry in its index's shared `ZADD` when the batch closes.
   */
  async send(
    stream: Stream,
    ref: RecordRef,
    set: RedisCommand,
    entry: IndexEntry,
    expiresAt: number,
  ): Promise<BatchedReplies> {
    const batch = this.#batch(stream);
    batch.last = { ref, expiresAt };
    const written = callOne(this.#client, set);
    let group = batch.indexes.get(entry.index);
    // The same member twice in a turn (two registrations of one id) starts another ZADD, sent after
    // this one, so the entry ends with the later expiry, as its record does.
    if (group === undefined || group.members.has(entry.member)) {
      group = { entries: [], members: new Set(), waiting: [] };
      batch.indexes.set(entry.index, group);
      batch.groups.push(group);
    }
    group.entries.push(entry);
    group.members.add(entry.member);
    const waiting = group.waiting;
    const indexed = new Promise<CommandReply>((resolve) => waiting.push(resolve));
    const [setReply, zaddReply, storeNow] = await Promise.all([written, indexed, batch.storeNow]);
    return { replies: [setReply, zaddReply], storeNow };
  }

  #batch(stream: Stream): OpenBatch {
    const open = this.#open;
    if (open !== undefined && open.stream === stream) return open;
    let settle: (storeNow: number | undefined) => void = () => {};
    const batch: OpenBatch = {
      stream,
      last: undefined,
      storeNow: new Promise((resolve) => {
        settle = resolve;
      }),
      indexes: new Map(),
      groups: [],
    };
    stream.cork();
    // After every promise continuation of this turn: the refreshes those start join the batch too.
    process.nextTick(() => {
      if (this.#open === batch) this.#open = undefined;
      for (const group of batch.groups) {
        const { command, indexed } = indexWrite(group.entries);
        void callOne(this.#client, command).then((reply) => {
          const answer = indexed(reply);
          for (const resolve of group.waiting) resolve(answer);
        });
      }
      const last = batch.last;
      if (last === undefined) settle(undefined);
      else {
        void callOne(this.#client, clockCommand(last.ref)).then((pttl) =>
          settle(batchTime(pttl, last.expiresAt)),
        );
      }
      stream.uncork();
    });
    this.#open = batch;
    return batch;
  }
}
