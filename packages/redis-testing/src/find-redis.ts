import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startRedisServer } from './server.js';

const run = promisify(execFile);

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
  /** Environment to read `REDIS_URL`, `CI` and `PATH` from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Where notices go. Default `console.warn`. */
  warn?: (message: string) => void;
}

async function succeeds(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<boolean> {
  try {
    await run(command, args, { timeout: 5000, env });
    return true;
  } catch {
    return false;
  }
}

interface StartedContainer {
  getHost(): string;
  getMappedPort(port: number): number;
  stop(): Promise<unknown>;
}

async function startContainer(warn: (message: string) => void): Promise<FoundRedis | undefined> {
  let testcontainers: { GenericContainer: new (image: string) => unknown };
  try {
    const moduleName = 'testcontainers';
    testcontainers = await import(/* @vite-ignore */ moduleName);
  } catch {
    warn('A Docker engine answers, but the testcontainers package is not installed: not using Docker.');
    return undefined;
  }
  // biome-ignore lint/suspicious/noExplicitAny: testcontainers is optional and not a dependency, so untyped here.
  const container = new testcontainers.GenericContainer('redis:7-alpine') as any;
  const started: StartedContainer = await container
    .withExposedPorts(6379)
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
    .start();
  return {
    url: `redis://${started.getHost()}:${started.getMappedPort(6379)}`,
    source: 'docker',
    stop: async () => {
      await started.stop();
    },
  };
}

/**
 * Finds a Redis for tests, in this order: `REDIS_URL`; a Docker engine (through testcontainers, when
 * installed); a `redis-server` binary on PATH, started on a free port. Otherwise warns loudly and
 * resolves to `undefined` so the caller can skip, except under `CI=true`, where it throws.
 */
export async function findRedis(options: FindRedisOptions = {}): Promise<FoundRedis | undefined> {
  const env = options.env ?? process.env;
  const warn = options.warn ?? ((message: string) => console.warn(message));
  if (env.REDIS_URL) return { url: env.REDIS_URL, source: 'env', stop: async () => {} };

  if (await succeeds('docker', ['info'], env)) {
    const found = await startContainer(warn);
    if (found) return found;
  }
  if (await succeeds('redis-server', ['--version'], env)) {
    const server = await startRedisServer();
    return { url: server.url, source: 'redis-server', stop: () => server.stop() };
  }

  const notice = 'No Redis for the tests: set REDIS_URL, run a Docker engine, or put redis-server on PATH.';
  if (env.CI === 'true')
    throw new Error(`${notice} (CI=true, so the Redis suites fail instead of skipping.)`);
  warn(`\n${'!'.repeat(78)}\n!! SKIPPING THE REDIS SUITES. ${notice}\n${'!'.repeat(78)}\n`);
  return undefined;
}
