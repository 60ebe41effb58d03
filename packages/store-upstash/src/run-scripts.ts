import type { ScriptCall } from '@service-registry/redis-layout';
import type { UpstashClientLike, UpstashPipelineReply } from './client.js';

// Scripts are called by hash, one HTTP request each. When Upstash answers NOSCRIPT (a new database,
// a flushed script cache) the store sends the source with EVAL, which also caches it for next time.

/** The client's error for one command: `NOSCRIPT ...`, or `Command failed: NOSCRIPT ...` when auto-pipelined. */
const isNoScript = (message: string): boolean => /^(Command failed: )?NOSCRIPT/.test(message);

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const evalSource = (client: UpstashClientLike, call: ScriptCall): Promise<unknown> =>
  client.eval(call.script.source, [...call.keys], [...call.args]);

/** One script call in one request: EVALSHA, or on NOSCRIPT a second request with EVAL. */
export async function runScript(client: UpstashClientLike, call: ScriptCall): Promise<unknown> {
  try {
    return await client.evalsha(call.script.sha1, [...call.keys], [...call.args]);
  } catch (error) {
    if (!isNoScript(errorMessage(error))) throw error;
    return evalSource(client, call);
  }
}

/** A command error reported inside a pipeline reply, named as the client names its own. */
class PipelineCommandError extends Error {
  override readonly name = 'UpstashError';
}

const failed = (reply: UpstashPipelineReply): string | undefined => reply.error ?? undefined;

async function runPipeline(
  client: UpstashClientLike,
  calls: readonly ScriptCall[],
): Promise<readonly UpstashPipelineReply[]> {
  const pipeline = client.pipeline();
  for (const call of calls) pipeline.evalsha(call.script.sha1, [...call.keys], [...call.args]);
  const replies = await pipeline.exec({ keepErrors: true });
  if (!Array.isArray(replies) || replies.length !== calls.length) {
    throw new Error(
      `the pipeline answered with ${String(replies?.length)} replies to ${calls.length} commands`,
    );
  }
  return replies;
}

/**
 * Many calls in one pipeline: one request. Calls answered NOSCRIPT are repaired in two more requests,
 * not one per call: EVAL of one call per script (which caches it), then the rest by hash.
 */
export async function runScripts(
  client: UpstashClientLike,
  calls: readonly ScriptCall[],
): Promise<unknown[]> {
  if (calls.length === 0) return [];
  const replies = await runPipeline(client, calls);
  const results: unknown[] = new Array(calls.length);
  const missing: number[] = [];
  replies.forEach((reply, index) => {
    const error = failed(reply);
    if (error === undefined) results[index] = reply.result;
    else if (isNoScript(error)) missing.push(index);
    else throw new PipelineCommandError(error);
  });
  if (missing.length === 0) return results;

  const loaders = new Map<string, number>();
  for (const index of missing) {
    const sha1 = (calls[index] as ScriptCall).script.sha1;
    if (!loaders.has(sha1)) loaders.set(sha1, index);
  }
  const loading = [...loaders.values()];
  await Promise.all(
    loading.map(async (index) => {
      results[index] = await evalSource(client, calls[index] as ScriptCall);
    }),
  );
  const rest = missing.filter((index) => !loading.includes(index));
  if (rest.length === 0) return results;
  const again = await runPipeline(
    client,
    rest.map((index) => calls[index] as ScriptCall),
  );
  rest.forEach((index, position) => {
    const reply = again[position] as UpstashPipelineReply;
    const error = failed(reply);
    if (error !== undefined) throw new PipelineCommandError(error);
    results[index] = reply.result;
  });
  return results;
}
