import type { ScriptCall } from './calls.js';

/*
 * Scripts are called by hash (EVALSHA). After a restart, a failover or on a new database the server
 * answers NOSCRIPT, and the call is sent again with its source (EVAL), which also caches the script.
 * The logic is the same for every client; a store adapts its client to `ScriptTransport`.
 */

/** One call's outcome in a pipeline: its reply, or the error the server answered it with. */
export type ScriptOutcome = { readonly result: unknown } | { readonly error: Error };

/** How a store sends script calls through its client. Each function is one round trip. */
export interface ScriptTransport {
  /** `EVALSHA <sha1> ...`; rejects with the client's error, NOSCRIPT included. */
  evalsha(call: ScriptCall): Promise<unknown>;
  /** `EVAL <source> ...`, which also caches the script. */
  eval(call: ScriptCall): Promise<unknown>;
  /** `EVALSHA` of every call in one pipeline (at least one call): one outcome per call, in order. */
  pipeline(calls: readonly ScriptCall[]): Promise<readonly ScriptOutcome[]>;
}

/**
 * True for a NOSCRIPT reply: `NOSCRIPT ...` (ioredis, `@upstash/redis`), or `Command failed: NOSCRIPT ...`
 * from an auto-pipelining `@upstash/redis` client.
 */
export function isNoScriptError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /^(Command failed: )?NOSCRIPT/.test(message);
}

/** Runs one script call: EVALSHA, and on NOSCRIPT a second round trip with EVAL. */
export async function runScript(transport: ScriptTransport, call: ScriptCall): Promise<unknown> {
  try {
    return await transport.evalsha(call);
  } catch (error) {
    if (!isNoScriptError(error)) throw error;
    return transport.eval(call);
  }
}

async function runPipeline(
  transport: ScriptTransport,
  calls: readonly ScriptCall[],
  repair: boolean,
): Promise<unknown[]> {
  const outcomes = await transport.pipeline(calls);
  if (!Array.isArray(outcomes) || outcomes.length !== calls.length) {
    throw new Error(
      `the pipeline answered with ${String(outcomes?.length)} replies to ${calls.length} commands`,
    );
  }
  const results: unknown[] = new Array(calls.length);
  const missing: number[] = [];
  outcomes.forEach((outcome, index) => {
    if (!('error' in outcome)) results[index] = outcome.result;
    else if (isNoScriptError(outcome.error)) missing.push(index);
    else throw outcome.error;
  });
  if (missing.length === 0) return results;
  const rerun = async (indexes: readonly number[], run: (batch: ScriptCall[]) => Promise<unknown[]>) => {
    const replies = await run(indexes.map((index) => calls[index] as ScriptCall));
    indexes.forEach((index, position) => {
      results[index] = replies[position];
    });
  };
  if (!repair) {
    // The scripts were loaded a moment ago and are gone again (another flush): one by one.
    await rerun(missing, (batch) => Promise.all(batch.map((call) => runScript(transport, call))));
    return results;
  }
  const loading = new Map<string, number>();
  for (const index of missing) {
    const sha1 = (calls[index] as ScriptCall).script.sha1;
    if (!loading.has(sha1)) loading.set(sha1, index);
  }
  const loaders = [...loading.values()];
  await rerun(loaders, (batch) => Promise.all(batch.map((call) => transport.eval(call))));
  const rest = missing.filter((index) => !loaders.includes(index));
  if (rest.length > 0) {
    await rerun(rest, (batch) => runPipeline(transport, batch, false));
  }
  return results;
}

/**
 * Runs calls in one pipeline (one round trip); replies in call order. Calls answered NOSCRIPT are
 * repaired in two more round trips, not one per call: EVAL of one call per script (in parallel),
 * which loads it, then one pipeline of the rest by hash. A call's other error rejects the whole run.
 */
export function runScriptPipeline(
  transport: ScriptTransport,
  calls: readonly ScriptCall[],
): Promise<unknown[]> {
  if (calls.length === 0) return Promise.resolve([]);
  return runPipeline(transport, calls, true);
}
