import {
  keySlot,
  runScriptPipeline,
  runScript as runWith,
  type ScriptCall,
  type ScriptOutcome,
  type ScriptTransport,
  scriptArguments,
} from '@service-registry/redis-layout';
import type { RedisClientLike } from './client.js';

// The NOSCRIPT fallback and pipeline repair live in redis-layout (shared with store-upstash); this
// file adapts an ioredis client to it and spreads a Cluster's calls over its nodes.

/*
 * A Cluster pipeline goes to the node the client's slot map names. After a reshard or a failover
 * that map is stale, and every call of the pipeline is answered MOVED (or ASK, TRYAGAIN, CLUSTERDOWN,
 * or fails with the node's connection). ioredis follows a redirect inside a pipeline only when every
 * command got the very same one, which calls for several slots never do, and then it neither retries
 * nor refreshes its map: each find would fail the same way for good. So such calls are sent again
 * one by one: a single command follows MOVED and ASK (MOVED also makes ioredis fix the slot and
 * reload its map, so the next pipelines go to the right nodes), and waits out TRYAGAIN, CLUSTERDOWN
 * and a failover within ioredis' own retry limits.
 */
const REROUTED = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;

/** Whether a Cluster call failed for where it was sent, not for what it asked: worth a routed retry. */
export function isMisrouted(error: Error): boolean {
  if (error.name === 'ReplyError') return REROUTED.test(error.message);
  return /^Connection is closed|Stream isn't writeable|Command timed out/.test(error.message);
}

// Read-only scripts go as EVALSHA_RO / EVAL_RO, which a full server under `noeviction` still runs.
// A server before Redis 7.0 knows neither: its clients send them as EVALSHA / EVAL from then on.
const withoutReadOnlyScripts = new WeakSet<RedisClientLike>();

/** An "unknown command" reply to EVALSHA_RO or EVAL_RO (Redis before 7.0, or renamed away). */
export function isReadOnlyScriptUnknown(error: unknown): boolean {
  return error instanceof Error && /^ERR unknown command '?(evalsha_ro|eval_ro)/i.test(error.message);
}

/** An ioredis client (or one Cluster node group) as redis-layout's script runner sees it. */
function transport(client: RedisClientLike): ScriptTransport {
  const readOnly = (call: ScriptCall) => call.script.readOnly && !withoutReadOnlyScripts.has(client);
  const send = async (call: ScriptCall, bySource: boolean): Promise<unknown> => {
    const sent = readOnly(call);
    const command = `${bySource ? 'EVAL' : 'EVALSHA'}${sent ? '_RO' : ''}`;
    const script = bySource ? call.script.source : call.script.sha1;
    try {
      return await client.call(command, script, ...scriptArguments(call));
    } catch (error) {
      if (!sent || !isReadOnlyScriptUnknown(error)) throw error;
      withoutReadOnlyScripts.add(client);
      return send(call, bySource);
    }
  };
  const evalsha = (call: ScriptCall) => send(call, false);
  return {
    evalsha,
    eval: (call) => send(call, true),
    async pipeline(calls) {
      const pipeline = client.pipeline();
      for (const call of calls) {
        pipeline.call(readOnly(call) ? 'EVALSHA_RO' : 'EVALSHA', call.script.sha1, ...scriptArguments(call));
      }
      const one = (call: ScriptCall): Promise<ScriptOutcome> =>
        evalsha(call).then(
          (result) => ({ result }),
          (error: Error) => ({ error }),
        );
      let replies: Awaited<ReturnType<typeof pipeline.exec>>;
      try {
        replies = await pipeline.exec();
      } catch (error) {
        // ioredis retries a pipeline of read-only commands itself when one slot moved, then refuses
        // it because its slots now span two nodes: the calls go one by one instead.
        if (!client.isCluster) throw error;
        return Promise.all(calls.map(one));
      }
      if (!replies) throw new Error('the pipeline was discarded');
      return Promise.all(
        replies.map(([error, result], index): ScriptOutcome | Promise<ScriptOutcome> => {
          if (!error) return { result };
          if (isReadOnlyScriptUnknown(error)) {
            withoutReadOnlyScripts.add(client);
            return one(calls[index] as ScriptCall);
          }
          if (!client.isCluster || !isMisrouted(error)) return { error };
          return one(calls[index] as ScriptCall);
        }),
      );
    },
  };
}

/** Runs one script call: EVALSHA (`_RO` for a read), falling back to EVAL on NOSCRIPT. */
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
