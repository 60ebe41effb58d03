import { dockerMayAnswer, missing, startWithTestcontainers, succeeds } from './docker.js';
import { startRedisServer } from './server.js';

/** A Redis the tests may use: found through `REDIS_URL`, or started for them. */
export interface FoundRedis {
  readonly url: string;
  /** Where it came from: `REDIS_URL`, a testcontainers container, or a `redis-server` child process. */
  readonly source: 'env' | 'docker' | 'redis-server';
  /** Stops what was started for the tests; a no-op for `REDIS_URL`. */
  stop(): Promise<void>;
}

/** Options of `findRedis`. */
export interface FindRedisOptions {
  /** Environment to read `REDIS_URL`, `DOCKER_HOST`, `CI` and `PATH` from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Where notices go. Default `console.warn`. */
  warn?: (message: string) => void;
}

async function startContainer(warn: (message: string) => void): Promise<FoundRedis | undefined> {
  return startWithTestcontainers('a Redis container', warn, async () => {
    // Imported only when Docker may answer: loading testcontainers takes about a second.
    const { RedisContainer } = await import('@testcontainers/redis');
    const started = await new RedisContainer('redis:7-alpine')
      .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
      .start();
    return {
      url: started.getConnectionUrl(),
      source: 'docker' as const,
      stop: async () => {
        await started.stop();
      },
    };
  });
}

/**
 * Finds a Redis for tests, in this order: `REDIS_URL`; a Docker engine (through testcontainers); a
 * `redis-server` binary on PATH, started on a free port. Otherwise warns loudly and resolves to
 * `undefined` so the caller can skip, except under `CI=true`, where it throws.
 */
export async function findRedis(options: FindRedisOptions = {}): Promise<FoundRedis | undefined> {
  const env = options.env ?? process.env;
  const warn = options.warn ?? ((message: string) => console.warn(message));
  if (env.REDIS_URL) return { url: env.REDIS_URL, source: 'env', stop: async () => {} };

  if (await dockerMayAnswer(env, warn)) {
    const found = await startContainer(warn);
    if (found) return found;
  }
  if (await succeeds('redis-server', ['--version'], env)) {
    const server = await startRedisServer();
    return { url: server.url, source: 'redis-server', stop: () => server.stop() };
  }
  missing(
    'Redis',
    'No Redis for the tests: set REDIS_URL, run a Docker engine, or put redis-server on PATH.',
    env,
    warn,
  );
  return undefined;
}
