import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type OwnedProcess, spawnOwned, stopProcess } from './processes.js';
import { type RespReply, sendCommand, waitForPing } from './resp.js';
import { type RedisServer, startRedisServer } from './server.js';

/** Options of `startRedisSentinel`. */
export interface RedisSentinelOptions {
  /** The name the sentinels monitor the master under. Default `mymaster`. */
  masterName?: string;
  /** How many sentinel processes. Default 1. */
  sentinels?: number;
  /** Sentinels that must agree the master is down. Default a majority: 1 of 1, 2 of 3. */
  quorum?: number;
  /** `sentinel down-after-milliseconds`. Default 1000. */
  downAfterMs?: number;
  /** `sentinel failover-timeout`. Default 5000. */
  failoverTimeoutMs?: number;
  /** How long to wait for the replica's sync and the sentinels' view of both, in ms. Default 30000. */
  readyTimeoutMs?: number;
  /** The binary, run as `<binary> <config> --sentinel` and as the servers. Default `redis-server`. */
  binary?: string;
}

/** An address, as ioredis' `sentinels` option takes them. */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * A master, one replica and the sentinels monitoring them, all processes this test owns, on
 * loopback. After `failover()` the `replica` server is the master and `master` is dead (a
 * `master.restart()` brings it back empty, and the sentinels turn it into a replica of the new master).
 */
export interface RedisSentinel {
  /** The sentinels' addresses: `new Redis({ sentinels, name: masterName })`. */
  readonly sentinels: readonly RedisAddress[];
  readonly masterName: string;
  readonly master: RedisServer;
  readonly replica: RedisServer;
  /** Where the first sentinel says the master is now. */
  masterAddress(): Promise<RedisAddress>;
  /**
   * Kills the master (SIGKILL, as a crash) and resolves once every sentinel reports the replica as
   * the master and the replica says it is one. Only once: there is no second replica to promote.
   */
  failover(): Promise<void>;
  /** Stops the sentinels and both servers and removes their directories. Idempotent. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 100 ms until it returns true; throws with `describe()` after `timeoutMs`. */
async function until(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  describe: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      const state = await describe().catch((error: unknown) => String(error));
      throw new Error(`${what} within ${timeoutMs} ms: ${state}`);
    }
    await sleep(100);
  }
}

/** The `field:value` lines of an INFO reply. */
async function info(port: number, section: string): Promise<Record<string, string>> {
  const reply = await sendCommand(port, ['INFO', section], HOST);
  const fields: Record<string, string> = {};
  for (const line of String(reply).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/** A flat `[name, value, name, value, ...]` reply (SENTINEL REPLICAS entries) as an object. */
function pairs(reply: RespReply): Record<string, string> {
  const fields: Record<string, string> = {};
  if (!Array.isArray(reply)) return fields;
  for (let index = 0; index + 1 < reply.length; index += 2)
    fields[String(reply[index])] = String(reply[index + 1]);
  return fields;
}

async function masterAddressOf(sentinelPort: number, masterName: string): Promise<RedisAddress> {
  const reply = await sendCommand(sentinelPort, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName], HOST);
  if (!Array.isArray(reply) || reply.length !== 2)
    throw new Error(`no master address: ${JSON.stringify(reply)}`);
  return { host: String(reply[0]), port: Number(reply[1]) };
}

interface SentinelProcess {
  readonly port: number;
  readonly owned: OwnedProcess;
  readonly dir: string;
}

function sentinelConfig(
  port: number,
  dir: string,
  masterName: string,
  masterPort: number,
  options: Required<Pick<RedisSentinelOptions, 'quorum' | 'downAfterMs' | 'failoverTimeoutMs'>>,
): string {
  return [
    `port ${port}`,
    `bind ${HOST}`,
    'protected-mode no',
    'daemonize no',
    'logfile ""',
    `dir ${dir}`,
    'sentinel resolve-hostnames no',
    `sentinel monitor ${masterName} ${HOST} ${masterPort} ${options.quorum}`,
    `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs}`,
    `sentinel failover-timeout ${masterName} ${options.failoverTimeoutMs}`,
    `sentinel parallel-syncs ${masterName} 1`,
    '',
  ].join('\n');
}

async function launchSentinel(
  binary: string,
  config: (port: number, dir: string) => string,
  timeoutMs: number,
): Promise<SentinelProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), `redis-sentinel-${port}-`));
    // Sentinel rewrites its config file (its id, the replicas and sentinels it found): it must be writable.
    const file = join(dir, 'sentinel.conf');
    await writeFile(file, config(port, dir));
    const owned = spawnOwned(binary, [file, '--sentinel'], dir);
    const exitedEarly = owned.exited.then(() => {
      throw new Error(`redis sentinel on port ${port} exited at start:\n${owned.output()}`);
    });
    try {
      await Promise.race([waitForPing(port, timeoutMs, HOST), exitedEarly]);
      return { port, owned, dir };
    } catch (error) {
      await stopProcess(owned, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
      // Another process may have taken the free port between the probe and the start.
      if (attempt === 3) throw error;
    } finally {
      exitedEarly.catch(() => {});
    }
  }
}

/**
 * Starts a master and one replica (`--replicaof`) with `startRedisServer`, then `sentinels`
 * sentinel processes (`redis-server <config> --sentinel`, each config in its own temp directory)
 * monitoring the master with a 1 s down-after, and resolves once the replica is in sync and every
 * sentinel sees the master, the replica and the other sentinels. Every process dies with the test
 * process (the harness' watchdog), and its directory is removed.
 */
export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinel> {
  const masterName = options.masterName ?? 'mymaster';
  const count = options.sentinels ?? 1;
  const quorum = options.quorum ?? Math.floor(count / 2) + 1;
  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  const binary = options.binary ?? 'redis-server';
  // No diskless-sync delay (default 5 s), so the replica's first sync is immediate.
  const serverArgs = ['--repl-diskless-sync-delay', '0'];
  const servers: RedisServer[] = [];
  const sentinels: SentinelProcess[] = [];
  let failedOver = false;

  const stop = async () => {
    const stopping = sentinels.splice(0);
    await Promise.all(
      stopping.map(async (sentinel) => {
        await stopProcess(sentinel.owned, 'SIGTERM');
        await rm(sentinel.dir, { recursive: true, force: true });
      }),
    );
    await Promise.all(servers.map((server) => server.stop()));
  };

  try {
    const master = await startRedisServer({ args: serverArgs, binary });
    servers.push(master);
    const replica = await startRedisServer({
      args: [...serverArgs, '--replicaof', HOST, String(master.port)],
      binary,
    });
    servers.push(replica);
    await until(
      'the replica did not sync',
      timeoutMs,
      async () => (await info(replica.port, 'replication')).master_link_status === 'up',
      async () => JSON.stringify(await info(replica.port, 'replication')),
    );

    const config = (port: number, dir: string) =>
      sentinelConfig(port, dir, masterName, master.port, {
        quorum,
        downAfterMs: options.downAfterMs ?? 1000,
        failoverTimeoutMs: options.failoverTimeoutMs ?? 5000,
      });
    for (let index = 0; index < count; index++)
      sentinels.push(await launchSentinel(binary, config, timeoutMs));

    // Each sentinel must know the master (status ok), have found the replica through the master's
    // INFO and be connected to it (no s_down / disconnected flags), and have heard the other sentinels.
    const ready = async (port: number): Promise<boolean> => {
      const fields = (await info(port, 'sentinel')).master0 ?? '';
      const expected = `name=${masterName},status=ok,address=${HOST}:${master.port},slaves=1,sentinels=${count}`;
      if (fields !== expected) return false;
      const replicas = await sendCommand(port, ['SENTINEL', 'REPLICAS', masterName], HOST);
      if (!Array.isArray(replicas) || replicas.length !== 1) return false;
      const seen = pairs(replicas[0] ?? null);
      return (
        seen.flags === 'slave' && seen['master-link-status'] === 'ok' && seen.port === String(replica.port)
      );
    };
    await until(
      'the sentinels did not see the master, the replica and each other',
      timeoutMs,
      async () => (await Promise.all(sentinels.map((sentinel) => ready(sentinel.port)))).every(Boolean),
      async () =>
        JSON.stringify(
          await Promise.all(
            sentinels.map(async (sentinel) => (await info(sentinel.port, 'sentinel')).master0),
          ),
        ),
    );

    return {
      sentinels: sentinels.map((sentinel) => ({ host: HOST, port: sentinel.port })),
      masterName,
      master,
      replica,
      masterAddress: () => masterAddressOf((sentinels[0] as SentinelProcess).port, masterName),
      async failover() {
        if (failedOver) throw new Error('failover() already ran: there is no replica left to promote');
        failedOver = true;
        await master.kill();
        // down-after, the vote, the promotion, then the sentinels' switch: a few seconds.
        const promoted = async (): Promise<boolean> => {
          const addresses = await Promise.all(
            sentinels.map((sentinel) => masterAddressOf(sentinel.port, masterName)),
          );
          if (!addresses.every((address) => address.port === replica.port)) return false;
          return (await info(replica.port, 'replication')).role === 'master';
        };
        await until('the sentinels did not promote the replica', timeoutMs, promoted, async () =>
          JSON.stringify(
            await Promise.all(
              sentinels.map(async (sentinel) => (await info(sentinel.port, 'sentinel')).master0),
            ),
          ),
        );
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
