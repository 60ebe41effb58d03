import {
  runScriptPipeline,
  runScript as runWith,
  type ScriptCall,
  type ScriptOutcome,
  type ScriptTransport,
} from '@service-registry/redis-layout';
import type { UpstashClientLike, UpstashPipelineReply } from './client.js';
import { PipelineCommandError } from './errors.js';

// The NOSCRIPT fallback and pipeline repair live in redis-layout (shared with store-redis); this file
// adapts an `@upstash/redis` client to it. Each call below is one HTTP request.

const outcome = (reply: UpstashPipelineReply): ScriptOutcome =>
  reply.error === undefined || reply.error === null
    ? { result: reply.result }
    : { error: new PipelineCommandError(reply.error) };

/** An `@upstash/redis` client as redis-layout's script runner sees it. */
function transport(client: UpstashClientLike): ScriptTransport {
  return {
    evalsha: (call) => client.evalsha(call.script.sha1, [...call.keys], [...call.args]),
    eval: (call) => client.eval(call.script.source, [...call.keys], [...call.args]),
    async pipeline(calls) {
      const pipeline = client.pipeline();
      for (const call of calls) pipeline.evalsha(call.script.sha1, [...call.keys], [...call.args]);
      const replies: unknown = await pipeline.exec({ keepErrors: true });
      // Anything but a list fails the runner's count check.
      return Array.isArray(replies) ? (replies as UpstashPipelineReply[]).map(outcome) : [];
    },
  };
}

/** One script call in one request: EVALSHA, or on NOSCRIPT a second request with EVAL. */
export function runScript(client: UpstashClientLike, call: ScriptCall): Promise<unknown> {
  return runWith(transport(client), call);
}

/**
 * Many calls in one pipeline: one request. Calls answered NOSCRIPT are repaired in two more requests,
 * not one per call: EVAL of one call per script (which caches it), then the rest by hash.
 */
export function runScripts(client: UpstashClientLike, calls: readonly ScriptCall[]): Promise<unknown[]> {
  return runScriptPipeline(transport(client), calls);
}
