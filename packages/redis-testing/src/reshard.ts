import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sendCommand } from './resp.js';
import type { RedisServer } from './server.js';

const run = promisify(execFile);

/*
 * Moving a hash slot between masters the way `redis-cli --cluster reshard` does it, one slot at a
 * time so a test picks exactly which keys move: SETSLOT IMPORTING on the target, MIGRATING on the
 * source, MIGRATE the slot's keys in batches, then SETSLOT NODE on every master. Clients holding the
 * old slot map get ASK while keys move and MOVED afterwards.
 */

/** One line of `CLUSTER NODES`. */
export interface ClusterNode {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly master: boolean;
  /** For a replica: the id of its master. */
  readonly masterId: string | undefined;
  /** The slots this master serves (empty for a replica). */
  readonly slots: readonly number[];
}

/** The cluster as `node` sees it, from `CLUSTER NODES`. Failed nodes are left out. */
export async function clusterNodes(node: RedisServer): Promise<ClusterNode[]> {
  const reply = String(await sendCommand(node.port, ['CLUSTER', 'NODES'], node.host));
  const nodes: ClusterNode[] = [];
  for (const line of reply.split('\n')) {
    const [id, address, flags, masterId, , , , , ...ranges] = line.trim().split(' ');
    if (!id || !address || !flags || flags.includes('fail') || flags.includes('noaddr')) continue;
    const [hostPort = ''] = address.split('@');
    const separator = hostPort.lastIndexOf(':');
    const slots: number[] = [];
    for (const range of ranges) {
      if (range.startsWith('[')) continue; // a slot being imported or migrated
      const [first, last = first] = range.split('-').map(Number);
      for (let slot = first as number; slot <= (last as number); slot++) slots.push(slot);
    }
    nodes.push({
      id,
      host: hostPort.slice(0, separator),
      port: Number(hostPort.slice(separator + 1)),
      master: flags.includes('master'),
      masterId: masterId === '-' ? undefined : masterId,
      slots,
    });
  }
  return nodes;
}

/** The master among `servers` that serves `slot`, as the first running one that answers sees it. */
export async function masterOf(servers: readonly RedisServer[], slot: number): Promise<RedisServer> {
  for (const server of servers.filter((candidate) => candidate.running)) {
    const nodes = await clusterNodes(server).catch(() => undefined);
    const owner = nodes?.find((node) => node.master && node.slots.includes(slot));
    const match = owner && servers.find((candidate) => candidate.port === owner.port);
    if (match) return match;
  }
  throw new Error(`no running master serves slot ${slot}`);
}

/** Options of `moveSlot`. */
export interface MoveSlotOptions {
  /** Keys per MIGRATE, as `redis-cli --cluster reshard --cluster-pipeline`. Default 10. */
  readonly batch?: number;
  /**
   * Called after the first batch moved, while the slot is still half migrated (clients get ASK):
   * e.g. to run operations in the middle of a reshard. Default none.
   */
  readonly midway?: () => Promise<void>;
}

/** Moves `slot` with its keys from whichever master serves it to `target` (a master). */
export async function moveSlot(
  servers: readonly RedisServer[],
  slot: number,
  target: RedisServer,
  options: MoveSlotOptions = {},
): Promise<void> {
  const source = await masterOf(servers, slot);
  if (source === target) return;
  const send = (server: RedisServer, args: (string | number)[]) =>
    sendCommand(server.port, args.map(String), server.host);
  const sourceId = String(await send(source, ['CLUSTER', 'MYID']));
  const targetId = String(await send(target, ['CLUSTER', 'MYID']));
  await send(target, ['CLUSTER', 'SETSLOT', slot, 'IMPORTING', sourceId]);
  await send(source, ['CLUSTER', 'SETSLOT', slot, 'MIGRATING', targetId]);
  const batch = options.batch ?? 10;
  let first = true;
  for (;;) {
    const keys = await send(source, ['CLUSTER', 'GETKEYSINSLOT', slot, batch]);
    if (!Array.isArray(keys) || keys.length === 0) break;
    const migrate = ['MIGRATE', target.host, target.port, '', 0, 5000, 'KEYS', ...(keys as string[])];
    await send(source, migrate);
    if (first) await options.midway?.();
    first = false;
  }
  const masters = (await clusterNodes(target)).filter((node) => node.master);
  // The target first, then the source (which stops answering for the slot), then everyone else.
  await send(target, ['CLUSTER', 'SETSLOT', slot, 'NODE', targetId]);
  await send(source, ['CLUSTER', 'SETSLOT', slot, 'NODE', targetId]);
  for (const node of masters) {
    const server = servers.find((candidate) => candidate.port === node.port);
    if (server && server !== source && server !== target) {
      await send(server, ['CLUSTER', 'SETSLOT', slot, 'NODE', targetId]);
    }
  }
  await slotSettled(servers, slot, target.port);
}

/**
 * Waits until every running node, replicas included, names `port` as the master of `slot`. Replicas
 * learn of the move by gossip: until they do, a client that refreshes its slot map from one of them
 * is sent back to the old master, and a busy machine (a full test run) can take long enough for
 * ioredis to give up after its 16 redirections.
 */
async function slotSettled(servers: readonly RedisServer[], slot: number, port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (const server of servers.filter((candidate) => candidate.running)) {
    for (;;) {
      const nodes = await clusterNodes(server).catch(() => []);
      if (nodes.some((node) => node.master && node.port === port && node.slots.includes(slot))) break;
      if (Date.now() > deadline) throw new Error(`node ${server.port} never saw slot ${slot} at ${port}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * `redis-cli --cluster reshard`: moves the `count` lowest slots of the master `from` to the master
 * `to` (node ids from `clusterNodes`), keys included, as an operator would. Resolves when done.
 */
export async function reshard(via: RedisServer, from: string, to: string, count: number): Promise<void> {
  const args = [
    '--cluster',
    'reshard',
    `${via.host}:${via.port}`,
    '--cluster-from',
    from,
    '--cluster-to',
    to,
  ];
  await run('redis-cli', [...args, '--cluster-slots', String(count), '--cluster-yes'], {
    timeout: 120_000,
    maxBuffer: 1 << 26,
  });
}
