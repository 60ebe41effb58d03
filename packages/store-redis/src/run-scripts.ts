import { keySlot, type ScriptCall, scriptArguments } from '@service-registry/redis-layout';
import type { RedisClientLike } from './client.js';

// Scripts are called by hash; after a restart or failover the server answers NOSCRIPT and the store
// sends the source with EVAL, which also caches it for the next EVALSHA.

const isNoScript = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith('NOSCRIPT');

const evalSource = (client: RedisClientLike, call: ScriptCall): Promise<unknown> =>
  client.call('EVAL', call.script.source, ...scriptArguments(call));

/** Runs one script call: EVALSHA, falling back to EVAL on NOSCRIPT. */
export async function runScript(client: RedisClientLike, call: ScriptCall): Promise<unknown> {
  try {
    return await client.call('EVALSHA', call.script.sha1, ...scriptArguments(call));
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return evalSource(client, call);
  }
}

/**
 * Runs calls in one pipeline (one round trip). Calls answered NOSCRIPT are repaired in two more
 * round trips, not one per call: EVAL of one call per script (which loads it), then the rest by hash.
 */
async function runPipeline(
  client: RedisClientLike,
  calls: readonly ScriptCall[],
  repair = true,
): Promise<unknown[]> {
  const pipeline = client.pipeline();
  for (const call of calls) pipeline.call('EVALSHA', call.script.sha1, ...scriptArguments(call));
  const replies = await pipeline.exec();
  if (!replies) throw new Error('the pipeline was discarded');
  const results: unknown[] = new Array(calls.length);
  const missing: number[] = [];
  replies.forEach(([error, reply], index) => {
    if (!error) results[index] = reply;
    else if (isNoScript(error)) missing.push(index);
    else throw error;
  });
  const rerun = async (indexes: readonly number[], run: (batch: ScriptCall[]) => Promise<unknown[]>) => {
    const replies = await run(indexes.map((index) => calls[index] as ScriptCall));
    indexes.forEach((index, position) => {
      results[index] = replies[position];
    });
  };
  if (missing.length === 0) return results;
  if (!repair) {
    await rerun(missing, (batch) => Promise.all(batch.map((call) => runScript(client, call))));
    return results;
  }
  const loading = new Map<string, number>();
  for (const index of missing) {
    const sha1 = (calls[index] as ScriptCall).script.sha1;
    if (!loading.has(sha1)) loading.set(sha1, index);
  }
  const loaders = [...loading.values()];
  await rerun(loaders, (batch) => Promise.all(batch.map((call) => evalSource(client, call))));
  const rest = missing.filter((index) => !loaders.includes(index));
  if (rest.length > 0) await rerun(rest, (batch) => runPipeline(client, batch, false));
  return results;
}

/**
 * Runs many calls in as few round trips as the topology allows: one pipeline on a single Redis; on a
 * Cluster, one pipeline per group of nodes (ioredis pipelines cannot span nodes), all in parallel.
 * Before a Cluster knows its slots, calls go one by one and ioredis routes each.
 */
export async function runScripts(client: RedisClientLike, calls: readonly ScriptCall[]): Promise<unknown[]> {
  if (calls.length === 0) return [];
  if (!client.isCluster) return runPipeline(client, calls);
  const slots = client.slots ?? [];
  const groups = new Map<string, number[]>();
  const unrouted: number[] = [];
  for (const [index, call] of calls.entries()) {
    const nodes = slots[keySlot(call.keys[0] ?? '')];
    if (!nodes || nodes.length === 0) {
      unrouted.push(index);
      continue;
    }
    const group = nodes.join(',');
    const members = groups.get(group);
    if (members) members.push(index);
    else groups.set(group, [index]);
  }
  const results: unknown[] = new Array(calls.length);
  const collect = async (indexes: readonly number[], replies: Promise<unknown[]>) => {
    const settled = await replies;
    indexes.forEach((index, position) => {
      results[index] = settled[position];
    });
  };
  const pick = (indexes: readonly number[]) => indexes.map((index) => calls[index] as ScriptCall);
  await Promise.all([
    ...[...groups.values()].map((indexes) => collect(indexes, runPipeline(client, pick(indexes)))),
    collect(unrouted, Promise.all(pick(unrouted).map((call) => runScript(client, call)))),
  ]);
  return results;
}
