import {
  keySlot,
  runScriptPipeline,
  runScript as runWith,
  type ScriptCall,
  type ScriptTransport,
  scriptArguments,
} from '@service-registry/redis-layout';
import type { RedisClientLike } from './client.js';

// The NOSCRIPT fallback and pipeline repair live in redis-layout (shared with store-upstash); this
// file adapts an ioredis client to it and spreads a Cluster's calls over its nodes.

/** An ioredis client (or one Cluster node group) as redis-layout's script runner sees it. */
function transport(client: RedisClientLike): ScriptTransport {
  return {
    evalsha: (call) => client.call('EVALSHA', call.script.sha1, ...scriptArguments(call)),
    eval: (call) => client.call('EVAL', call.script.source, ...scriptArguments(call)),
    async pipeline(calls) {
      const pipeline = client.pipeline();
      for (const call of calls) pipeline.call('EVALSHA', call.script.sha1, ...scriptArguments(call));
      const replies = await pipeline.exec();
      if (!replies) throw new Error('the pipeline was discarded');
      return replies.map(([error, result]) => (error ? { error } : { result }));
    },
  };
}

/** Runs one script call: EVALSHA, falling back to EVAL on NOSCRIPT. */
export function runScript(client: RedisClientLike, call: ScriptCall): Promise<unknown> {
  return runWith(transport(client), call);
}

/**
 * Runs many calls in as few round trips as the topology allows: one pipeline on a single Redis; on a
 * Cluster, one pipeline per group of nodes (ioredis pipelines cannot span nodes), all in parallel.
 * Before a Cluster knows its slots, calls go one by one and ioredis routes each.
 */
export async function runScripts(client: RedisClientLike, calls: readonly ScriptCall[]): Promise<unknown[]> {
  if (calls.length === 0) return [];
  const scripts = transport(client);
  if (!client.isCluster) return runScriptPipeline(scripts, calls);
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
    ...[...groups.values()].map((indexes) => collect(indexes, runScriptPipeline(scripts, pick(indexes)))),
    collect(unrouted, Promise.all(pick(unrouted).map((call) => runWith(scripts, call)))),
  ]);
  return results;
}
