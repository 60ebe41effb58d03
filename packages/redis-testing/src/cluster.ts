import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort } from './processes.js';
import { sendCommand } from './resp.js';
import { type RedisServer, startRedisServer } from './server.js';

const run = promisify(execFile);

/** Options of `startRedisCluster`. */
export interface RedisClusterOptions {
  /** Number of master nodes (no replicas). Default 3, the minimum `redis-cli --cluster create` accepts. */
  masters?: number;
  /** How long to wait for `cluster_state:ok` on every node, in ms. Default 30000. */
  readyTimeoutMs?: number;
}

/** A Redis Cluster of `redis-server` processes this test owns. */
export interface RedisCluster {
  readonly nodes: readonly RedisServer[];
  /** `{ host, port }` of every master, the shape `new Cluster(startupNodes)` takes. */
  readonly startupNodes: readonly { host: string; port: number }[];
  /** Stops every node and removes their directories. Idempotent. */
  stop(): Promise<void>;
}

async function clusterInfo(server: RedisServer): Promise<Record<string, string>> {
  const reply = await sendCommand(server.port, ['CLUSTER', 'INFO'], server.host);
  const fields: Record<string, string> = {};
  for (const line of String(reply).split('\r\n')) {
    const [name, value] = line.split(':');
    if (name && value !== undefined) fields[name] = value;
  }
  return fields;
}

async function waitUntilFormed(nodes: readonly RedisServer[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const infos = await Promise.all(
      nodes.map((node) => clusterInfo(node).catch(() => ({}) as Record<string, string>)),
    );
    const formed = infos.every(
      (info) =>
        info.cluster_state === 'ok' &&
        info.cluster_slots_ok === '16384' &&
        info.cluster_known_nodes === String(nodes.length),
    );
    if (formed) return;
    if (Date.now() > deadline)
      throw new Error(`cluster did not reach cluster_state:ok: ${JSON.stringify(infos)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts `masters` cluster-enabled `redis-server` nodes on free ports (each with its own free bus
 * port, so no port + 10000 arithmetic can overflow), joins them with `redis-cli --cluster create`,
 * and resolves once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const nodes: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let index = 0; index < masters; index++) {
      const busPort = await freePort();
      const clusterArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'];
      const timeouts = ['--cluster-node-timeout', '3000', '--cluster-port', String(busPort)];
      nodes.push(await startRedisServer({ args: [...clusterArgs, ...timeouts] }));
    }
    const addresses = nodes.map((node) => `${node.host}:${node.port}`);
    await run(
      'redis-cli',
      ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
      {
        timeout: 30_000,
      },
    );
    await waitUntilFormed(nodes, options.readyTimeoutMs ?? 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, startupNodes: nodes.map((node) => ({ host: node.host, port: node.port })), stop };
}
