import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort } from './processes.js';
import { clusterNodes } from './reshard.js';
import { sendCommand } from './resp.js';
import { type RedisServer, startRedisServer } from './server.js';

const run = promisify(execFile);

/** Options of `startRedisCluster`. */
export interface RedisClusterOptions {
  /** Number of master nodes. Default 3, the minimum `redis-cli --cluster create` accepts. */
  masters?: number;
  /** Replicas per master, for failover tests. Default 0. */
  replicas?: number;
  /** How long to wait for `cluster_state:ok` on every node, in ms. Default 30000. */
  readyTimeoutMs?: number;
}

/** A Redis Cluster of `redis-server` processes this test owns. */
export interface RedisCluster {
  readonly nodes: readonly RedisServer[];
  /** `{ host, port }` of every node, the shape `new Cluster(startupNodes)` takes. */
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

// `--cluster create` makes the replicas replicate; the other nodes learn it by gossip a moment later,
// and until then list them as empty masters. A replica that never synced with its master refuses to
// take over from it, so a failover test also waits for every replication link.
async function waitForReplicas(nodes: readonly RedisServer[], masters: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  const linked = async (node: RedisServer) => {
    const info = String(await sendCommand(node.port, ['INFO', 'replication'], node.host));
    return !info.includes('role:slave') || info.includes('master_link_status:up');
  };
  for (;;) {
    const views = await Promise.all(nodes.map((node) => clusterNodes(node).catch(() => [])));
    const known = views.every((view) => view.filter((node) => node.master).length === masters);
    if (known && (await Promise.all(nodes.map(linked))).every(Boolean)) return;
    if (Date.now() > deadline) throw new Error('the cluster replicas were not known everywhere in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts `masters` (times `1 + replicas`) cluster-enabled `redis-server` nodes on free ports (each with its own free bus
 * port, so no port + 10000 arithmetic can overflow), joins them with `redis-cli --cluster create`,
 * and resolves once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 0;
  const nodes: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let index = 0; index < masters * (1 + replicas); index++) {
      const busPort = await freePort();
      const clusterArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'];
      const timeouts = ['--cluster-node-timeout', '3000', '--cluster-port', String(busPort)];
      nodes.push(await startRedisServer({ args: [...clusterArgs, ...timeouts] }));
    }
    const addresses = nodes.map((node) => `${node.host}:${node.port}`);
    await run(
      'redis-cli',
      ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes'],
      {
        timeout: 30_000,
      },
    );
    await waitUntilFormed(nodes, options.readyTimeoutMs ?? 30_000);
    if (replicas > 0) await waitForReplicas(nodes, masters, options.readyTimeoutMs ?? 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, startupNodes: nodes.map((node) => ({ host: node.host, port: node.port })), stop };
}
