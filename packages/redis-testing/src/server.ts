import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type OwnedProcess, spawnOwned, stopProcess } from './processes.js';
import { waitForPing } from './resp.js';

/** Options of `startRedisServer`. */
export interface RedisServerOptions {
  /** Port to listen on. Default: a free port. */
  port?: number;
  /** Extra `redis-server` arguments, e.g. `['--cluster-enabled', 'yes']`. Default none. */
  args?: readonly string[];
  /** The binary. Default `redis-server` from PATH. */
  binary?: string;
  /** How long to wait for the first PING answer, in ms. Default 10000. */
  readyTimeoutMs?: number;
}

/** A `redis-server` process this test owns: safe to stop, kill, restart and flush. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** True between a start and a stop or kill. */
  readonly running: boolean;
  /** Shuts the server down (SIGTERM) and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL), as a crash would; `restart()` brings it back. */
  kill(): Promise<void>;
  /** Stops it if running, then starts it again on the same port, empty (no persistence). */
  restart(): Promise<void>;
}

const HOST = '127.0.0.1';

async function launch(
  port: number,
  options: RedisServerOptions,
): Promise<{ owned: OwnedProcess; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), `redis-${port}-`));
  const args = [
    ...['--port', String(port), '--bind', HOST, '--dir', dir],
    ...['--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', ''],
    ...(options.args ?? []),
  ];
  const owned = spawnOwned(options.binary ?? 'redis-server', args, dir);
  const exitedEarly = owned.exited.then(() => {
    throw new Error(`redis-server on port ${port} exited at start:\n${owned.output()}`);
  });
  try {
    await Promise.race([waitForPing(port, options.readyTimeoutMs ?? 10_000, HOST), exitedEarly]);
  } catch (error) {
    await stopProcess(owned, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw error;
  } finally {
    exitedEarly.catch(() => {});
  }
  return { owned, dir };
}

/**
 * Starts `redis-server` on a free port (or `options.port`) with no persistence, in its own temp
 * directory, and resolves once it answers PING. The process dies with the test process.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  let port = options.port ?? (await freePort());
  let current: { owned: OwnedProcess; dir: string } | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      current = await launch(port, options);
      break;
    } catch (error) {
      // Another process may have taken the free port between the probe and the start.
      if (options.port !== undefined || attempt === 3) throw error;
      port = await freePort();
    }
  }

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const stopping = current;
    current = undefined;
    if (!stopping) return;
    await stopProcess(stopping.owned, signal);
    await rm(stopping.dir, { recursive: true, force: true });
  };

  return {
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    get running() {
      return current !== undefined;
    },
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    async restart() {
      await halt('SIGTERM');
      current = await launch(port, options);
    },
  };
}
