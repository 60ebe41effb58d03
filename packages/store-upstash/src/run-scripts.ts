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
// Read-only scripts go as EVALSHA_RO / EVAL_RO, which a full database under `noeviction` still runs.
function transport(client: UpstashClientLike): ScriptTransport {
  return {
    evalsha: (call) =>
      (call.script.readOnly ? client.evalshaRo : client.evalsha).call(
        client,
        call.script.sha1,
        [...call.keys],
        [...call.args],
      ),
    eval: (call) =>
      (call.script.readOnly ? client.evalRo : client.eval).call(
        client,
        call.script.source,
        [...call.keys],
        [...call.args],
      ),
    async pipeline(calls) {
      const pipeline = client.pipeline();
      for (const call of calls) {
        if (call.script.readOnly) pipeline.evalshaRo(call.script.sha1, [...call.keys], [...call.args]);
        else pipeline.evalsha(call.script.sha1, [...call.keys], [...call.args]);
      }
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
