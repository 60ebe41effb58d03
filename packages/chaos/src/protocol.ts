// What the orchestrator and an instance process tell each other: config through the environment, and
// one JSON object per stdout line back.

/** A line an instance prints. `at` is `Date.now()` in the instance (same host, same clock). */
export type InstanceLine =
  /** `register()` returned; `ok` is false when the first write failed and the loop is retrying. */
  | { type: 'ready'; at: number; ok: boolean }
  | { type: 'refresh-failed'; at: number; code: string; consecutiveFailures: number }
  | { type: 'recovered'; at: number; failures: number; downtimeMs: number }
  /** The registry's logger got an error line (e.g. an event listener threw). */
  | { type: 'log-error'; at: number; message: string }
  /** Its record was deleted (the delete resolved), during the final SIGTERM. */
  | { type: 'deregistered'; at: number }
  | {
      type: 'crash';
      at: number;
      kind: 'uncaughtException' | 'unhandledRejection';
      message: string;
      stack: string | undefined;
    }
  | { type: 'closed'; at: number; reason: 'SIGTERM' | 'orphaned'; timedOut: boolean };

/** Exit codes of an instance that crashed, so a crash is told apart from a kill even without its line. */
export const CRASH_EXIT_CODES = { uncaughtException: 70, unhandledRejection: 71 } as const;

export interface InstanceConfig {
  redisUrl: string;
  namespace: string;
  secret: string;
  serviceName: string;
  instanceId: string;
  port: number;
  ttlSeconds: number;
  intervalSeconds: number;
}

const ENV = {
  redisUrl: 'CHAOS_REDIS_URL',
  namespace: 'CHAOS_NAMESPACE',
  secret: 'CHAOS_SECRET',
  serviceName: 'CHAOS_SERVICE',
  instanceId: 'CHAOS_INSTANCE_ID',
  port: 'CHAOS_PORT',
  ttlSeconds: 'CHAOS_TTL_SECONDS',
  intervalSeconds: 'CHAOS_INTERVAL_SECONDS',
} as const satisfies Record<keyof InstanceConfig, string>;

export function instanceEnv(config: InstanceConfig): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [field, name] of Object.entries(ENV)) env[name] = String(config[field as keyof InstanceConfig]);
  return env;
}

export function readInstanceEnv(env: NodeJS.ProcessEnv): InstanceConfig {
  const read = (field: keyof InstanceConfig): string => {
    const value = env[ENV[field]];
    if (!value) throw new Error(`${ENV[field]} is not set: instance.ts is started by the chaos run`);
    return value;
  };
  return {
    redisUrl: read('redisUrl'),
    namespace: read('namespace'),
    secret: read('secret'),
    serviceName: read('serviceName'),
    instanceId: read('instanceId'),
    port: Number(read('port')),
    ttlSeconds: Number(read('ttlSeconds')),
    intervalSeconds: Number(read('intervalSeconds')),
  };
}

/** Parses one stdout line; undefined for anything that is not an instance line (stray output). */
export function parseInstanceLine(text: string): InstanceLine | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(text) as { type?: unknown; at?: unknown };
    return typeof value.type === 'string' && typeof value.at === 'number'
      ? (value as InstanceLine)
      : undefined;
  } catch {
    return undefined;
  }
}
