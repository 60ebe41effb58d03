import { describe, expect, it } from 'vitest';
import {
  isNoScriptError,
  listServiceCall,
  putCall,
  runScript,
  runScriptPipeline,
  type ScriptCall,
  type ScriptTransport,
} from '../src/index.js';

// The runner's logic against a scripted transport. Both stores run it against real servers
// (store-redis round-trips and store-upstash requests tests, after SCRIPT FLUSH); this file covers
// what a real server does not produce on demand: scripts flushed again between two round trips.

/** A server's script cache: EVALSHA of an unknown script answers NOSCRIPT, EVAL loads it. */
function fakeServer(options: { failing?: string; flushAfterEval?: number } = {}) {
  const loaded = new Set<string>();
  const trips: string[] = [];
  let evals = 0;
  const reply = (call: ScriptCall) => `${call.script.name}:${call.keys[0]}`;
  const answer = (call: ScriptCall): { result: unknown } | { error: Error } => {
    if (call.keys[0] === options.failing) return { error: new Error('WRONGTYPE not a zset') };
    if (!loaded.has(call.script.sha1)) return { error: new Error('NOSCRIPT No matching script.') };
    return { result: reply(call) };
  };
  const transport: ScriptTransport = {
    async evalsha(call) {
      trips.push('EVALSHA');
      const outcome = answer(call);
      if ('error' in outcome) throw outcome.error;
      return outcome.result;
    },
    async eval(call) {
      trips.push('EVAL');
      loaded.add(call.script.sha1);
      evals += 1;
      if (evals === options.flushAfterEval) loaded.clear();
      return reply(call);
    },
    async pipeline(calls) {
      trips.push(`PIPELINE(${calls.length})`);
      return calls.map(answer);
    },
  };
  return { transport, trips, loaded };
}

const calls = [
  listServiceCall('ns', 'a'),
  listServiceCall('ns', 'b'),
  putCall({ namespace: 'ns', service: 'c', instanceId: 'i' }, 'v', 1_000),
  listServiceCall('ns', 'd'),
];
const expected = calls.map((call) => `${call.script.name}:${call.keys[0]}`);

describe('runScript and runScriptPipeline', () => {
  it('recognises NOSCRIPT as ioredis and @upstash/redis report it', () => {
    expect(isNoScriptError(new Error('NOSCRIPT No matching script. Please use EVAL.'))).toBe(true);
    expect(isNoScriptError(new Error('Command failed: NOSCRIPT No matching script'))).toBe(true);
    expect(isNoScriptError('NOSCRIPT as a string')).toBe(true);
    expect(isNoScriptError(new Error('ERR Error running script: NOSCRIPT inside'))).toBe(false);
  });

  it('one call: EVALSHA, and EVAL once after NOSCRIPT', async () => {
    const server = fakeServer();
    expect(await runScript(server.transport, calls[0] as ScriptCall)).toBe(expected[0]);
    expect(await runScript(server.transport, calls[1] as ScriptCall)).toBe(expected[1]);
    expect(server.trips).toEqual(['EVALSHA', 'EVAL', 'EVALSHA']);
  });

  it('a pipeline with its scripts loaded is one round trip; no calls, none', async () => {
    const server = fakeServer();
    for (const call of calls) server.loaded.add(call.script.sha1);
    expect(await runScriptPipeline(server.transport, calls)).toEqual(expected);
    expect(await runScriptPipeline(server.transport, [])).toEqual([]);
    expect(server.trips).toEqual(['PIPELINE(4)']);
  });

  it('repairs NOSCRIPT with one EVAL per script, then one pipeline of the rest, replies in order', async () => {
    const server = fakeServer();
    expect(await runScriptPipeline(server.transport, calls)).toEqual(expected);
    // Two scripts (list-service, put): two EVALs; the other two list-service calls by hash.
    expect(server.trips).toEqual(['PIPELINE(4)', 'EVAL', 'EVAL', 'PIPELINE(2)']);
  });

  it('scripts flushed again before the second pipeline: those calls go one by one', async () => {
    const server = fakeServer({ flushAfterEval: 2 });
    expect(await runScriptPipeline(server.transport, calls)).toEqual(expected);
    // In parallel: both EVALSHAs answer NOSCRIPT, then both EVALs.
    expect(server.trips).toEqual([
      'PIPELINE(4)',
      'EVAL',
      'EVAL',
      'PIPELINE(2)',
      'EVALSHA',
      'EVALSHA',
      'EVAL',
      'EVAL',
    ]);
  });

  it("rejects with a call's other error, and when the reply count does not match", async () => {
    const server = fakeServer({ failing: 'ns:index:{b}' });
    for (const call of calls) server.loaded.add(call.script.sha1);
    await expect(runScriptPipeline(server.transport, calls)).rejects.toThrow('WRONGTYPE');
    const short: ScriptTransport = { ...server.transport, pipeline: async () => [{ result: 1 }] };
    await expect(runScriptPipeline(short, calls)).rejects.toThrow(/1 replies to 4 commands/);
  });
});
