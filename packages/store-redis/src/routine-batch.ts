import type { RecordRef } from '@service-registry/core';
import {
  batchTime,
  type CommandReply,
  clockCommand,
  type RedisCommand,
} from '@service-registry/redis-layout';
import type { RedisClientLike } from './client.js';

/*
 * Routine refreshes sent in one turn of the event loop (a process holding many registrations: their
 * replies arrive together and their next refreshes start together) go out in one socket write, and
 * share one `PTTL`: the store's time when the batch ran, read from the last record written. Each
 * refresh checks its own record's life against it (records written in one pipeline run back to back),
 * so the guarantee is the one a `PTTL` per refresh gave, at two commands a refresh instead of three.
 * A refresh alone in its turn (one registration per process) still sends three.
 */

const replyOf = (result: unknown): CommandReply => [null, result];
const failureOf = (error: Error): CommandReply => [error, undefined];

/** What one refresh of a batch gets back: its two replies and the batch's store time. */
export interface BatchedReplies {
  readonly replies: readonly CommandReply[];
  /** The store's time when the batch ran; undefined when its `PTTL` said nothing. */
  readonly storeNow: number | undefined;
}

interface Stream {
  cork(): void;
  uncork(): void;
}

interface OpenBatch {
  readonly stream: Stream;
  last: { readonly ref: RecordRef; readonly expiresAt: number } | undefined;
  readonly storeNow: Promise<number | undefined>;
}

/** The socket of a single connection when it can be corked; undefined on a Cluster or a stand-in. */
export function corkableStream(client: RedisClientLike): Stream | undefined {
  if (client.isCluster === true) return undefined;
  const stream = client.stream;
  if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return undefined;
  return stream as Stream;
}

/** Sends commands on `client`, one reply pair each, never rejecting (an error is its reply's). */
function callAll(client: RedisClientLike, commands: readonly RedisCommand[]): Promise<CommandReply[]> {
  return Promise.all(
    commands.map(([command, ...args]) => client.call(command, ...args).then(replyOf, failureOf)),
  );
}

/** One client's batches: at most one open at a time, closed (written out) at the end of the turn. */
export class RoutineBatches {
  readonly #client: RedisClientLike;
  #open: OpenBatch | undefined;

  constructor(client: RedisClientLike) {
    this.#client = client;
  }

  /** Sends the two writes of a routine refresh of `ref` (expiry `expiresAt`) in this turn's batch. */
  async send(
    stream: Stream,
    ref: RecordRef,
    writes: readonly RedisCommand[],
    expiresAt: number,
  ): Promise<BatchedReplies> {
    const batch = this.#batch(stream);
    batch.last = { ref, expiresAt };
    const [replies, storeNow] = await Promise.all([callAll(this.#client, writes), batch.storeNow]);
    return { replies, storeNow };
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
    };
    stream.cork();
    // After every promise continuation of this turn: the refreshes those start join the batch too.
    process.nextTick(() => {
      if (this.#open === batch) this.#open = undefined;
      const last = batch.last;
      if (last === undefined) settle(undefined);
      else {
        void callAll(this.#client, [clockCommand(last.ref)]).then(([pttl]) =>
          settle(batchTime(pttl as CommandReply, last.expiresAt)),
        );
      }
      stream.uncork();
    });
    this.#open = batch;
    return batch;
  }
}
