import { Socket } from 'node:net';
import { dockerMayAnswer, missing, startWithTestcontainers } from './docker.js';

/** A PostgreSQL the tests may use. Tests make their own schema (or database) in it and drop it after. */
export interface FoundPostgres {
  /** A connection string, `postgres://user[:password]@host:port/database`. */
  readonly url: string;
  /** Where it came from: `DATABASE_URL`, a testcontainers container, or the machine's own server. */
  readonly source: 'env' | 'docker' | 'local';
  /** Stops what was started for the tests; a no-op otherwise. */
  stop(): Promise<void>;
}

/** Options of `findPostgres`. */
export interface FindPostgresOptions {
  /** Environment to read `DATABASE_URL`, `DOCKER_HOST`, `PGUSER`, `CI` and `PATH` from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Where notices go. Default `console.warn`. */
  warn?: (message: string) => void;
  /** The machine's own server, tried last. Default `127.0.0.1:5432`, database `test`, user `PGUSER` or `postgres`. */
  local?: { host?: string; port?: number; database?: string; user?: string };
}

/** Whether something accepts TCP connections at `host:port` within 1 s. */
function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

async function startContainer(warn: (message: string) => void): Promise<FoundPostgres | undefined> {
  return startWithTestcontainers('a PostgreSQL container', warn, async () => {
    // Imported only when Docker may answer: loading testcontainers takes about a second.
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const started = await new PostgreSqlContainer('postgres:16-alpine').withDatabase('test').start();
    return {
      url: started.getConnectionUri(),
      source: 'docker' as const,
      stop: async () => {
        await started.stop();
      },
    };
  });
}

/**
 * Finds a PostgreSQL for tests, in this order: `DATABASE_URL`; a Docker engine (through
 * testcontainers); the machine's own server on 127.0.0.1:5432 (trust authentication, database
 * `test`). Otherwise warns loudly and resolves to `undefined` so the caller can skip, except under
 * `CI=true`, where it throws.
 */
export async function findPostgres(options: FindPostgresOptions = {}): Promise<FoundPostgres | undefined> {
  const env = options.env ?? process.env;
  const warn = options.warn ?? ((message: string) => console.warn(message));
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, source: 'env', stop: async () => {} };

  if (await dockerMayAnswer(env, warn)) {
    const found = await startContainer(warn);
    if (found) return found;
  }
  const host = options.local?.host ?? '127.0.0.1';
  const port = options.local?.port ?? 5432;
  if (await listening(host, port)) {
    const user = options.local?.user ?? env.PGUSER ?? 'postgres';
    const database = options.local?.database ?? 'test';
    return { url: `postgres://${user}@${host}:${port}/${database}`, source: 'local', stop: async () => {} };
  }
  missing(
    'PostgreSQL',
    `No PostgreSQL for the tests: set DATABASE_URL, run a Docker engine, or run one on ${host}:${port}.`,
    env,
    warn,
  );
  return undefined;
}
