// The fleet part's Redis: one redis-server, or a 3-master Redis Cluster, that the part starts and
// stops itself (never another Redis), and what each master says about itself (INFO cpu, stats,
// commandstats) before and after a measured window.

import {
  type RedisCluster,
  type RedisServer,
  startRedisCluster,
  startRedisServer,
} from '@service-registry/redis-testing';
import { Cluster, Redis } from 'ioredis';
import { type CommandTimes, commandTimes } from './lib.js';

export type Topology = 'single' | 'cluster';

/** The servers of one topology and connections to them. */
export interface FleetServers {
  readonly topology: Topology;
  /** `host:port` of every master, in a stable order. */
  readonly masters: readonly string[];
  /**
   * A new command connection (a `Redis`, or a `Cluster` over every master). `pipelined`: ioredis'
   * auto-pipelining (the commands of one event-loop turn go out in one write).
   */
  connect(pipelined?: boolean): Redis | Cluster;
  /** Counters of every master, in `masters` order. */
  sample(): Promise<NodeSample[]>;
  stop(): Promise<void>;
}

/** One master's counters at one moment. */
export interface NodeSample {
  readonly at: number;
  /** Seconds of CPU of the whole server process (user + sys) and of its main thread. */
  readonly cpu: number;
  readonly mainThreadCpu: number;
  readonly commands: number;
  readonly netIn: number;
  readonly netOut: number;
  readonly clients: number;
  readonly usedMemory: number;
  readonly times: CommandTimes;
}

/** Per master, over a window: rates and shares. */
export interface NodeWindow {
  readonly node: string;
  /** Share of one core, 0..1 (can pass 1 with I/O threads; not enabled here). */
  readonly cpu: number;
  readonly mainThreadCpu: number;
  readonly commandsPerSecond: number;
  readonly netInPerSecond: number;
  readonly netOutPerSecond: number;
  readonly clients: number;
  readonly usedMemory: number;
  /** Calls/s and server µs per call, by command, for the commands that moved. */
  readonly commands: Record<string, { perSecond: number; usecPerCall: number }>;
}

const field = (text: string, name: string): number =>
  Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(text)?.[1] ?? Number.NaN);

async function sampleNode(admin: Redis): Promise<NodeSample> {
  const [cpu, stats, clients, memory, times] = await Promise.all([
    admin.info('cpu'),
    admin.info('stats'),
    admin.info('clients'),
    admin.info('memory'),
    commandTimes(admin),
  ]);
  return {
    at: performance.now(),
    cpu: field(cpu, 'used_cpu_user') + field(cpu, 'used_cpu_sys'),
    mainThreadCpu: field(cpu, 'used_cpu_user_main_thread') + field(cpu, 'used_cpu_sys_main_thread'),
    commands: field(stats, 'total_commands_processed'),
    netIn: field(stats, 'total_net_input_bytes'),
    netOut: field(stats, 'total_net_output_bytes'),
    clients: field(clients, 'connected_clients'),
    usedMemory: field(memory, 'used_memory'),
    times,
  };
}

/** What moved on each master between two samples (the samplers' own INFO calls left out). */
export function nodeWindows(
  masters: readonly string[],
  before: readonly NodeSample[],
  after: readonly NodeSample[],
): NodeWindow[] {
  return masters.map((node, index) => {
    const start = before[index] as NodeSample;
    const end = after[index] as NodeSample;
    const seconds = (end.at - start.at) / 1000;
    const commands: NodeWindow['commands'] = {};
    for (const [name, { calls, usec }] of Object.entries(end.times)) {
      const callsDelta = calls - (start.times[name]?.calls ?? 0);
      if (name === 'info' || callsDelta <= 0) continue;
      const usecDelta = usec - (start.times[name]?.usec ?? 0);
      commands[name] = { perSecond: callsDelta / seconds, usecPerCall: usecDelta / callsDelta };
    }
    return {
      node,
      cpu: (end.cpu - start.cpu) / seconds,
      mainThreadCpu: (end.mainThreadCpu - start.mainThreadCpu) / seconds,
      // Five INFO calls per sample: left out of the rate.
      commandsPerSecond: (end.commands - start.commands - 5) / seconds,
      netInPerSecond: (end.netIn - start.netIn) / seconds,
      netOutPerSecond: (end.netOut - start.netOut) / seconds,
      clients: end.clients,
      usedMemory: end.usedMemory,
      commands,
    };
  });
}

function admins(servers: readonly RedisServer[]) {
  const connections = servers.map((server) => new Redis(server.url, { maxRetriesPerRequest: 1 }));
  return {
    sample: () => Promise.all(connections.map(sampleNode)),
    close: () => {
      for (const connection of connections) connection.disconnect();
    },
  };
}

/** Starts the topology's servers (free ports, no persistence). */
export async function startFleetServers(topology: Topology): Promise<FleetServers> {
  if (topology === 'single') {
    const server = await startRedisServer();
    const admin = admins([server]);
    return {
      topology,
      masters: [`${server.host}:${server.port}`],
      connect: (pipelined = false) =>
        new Redis(server.url, {
          maxRetriesPerRequest: 1,
          commandTimeout: 10_000,
          enableAutoPipelining: pipelined,
        }),
      sample: admin.sample,
      stop: async () => {
        admin.close();
        await server.stop();
      },
    };
  }
  const cluster: RedisCluster = await startRedisCluster({ masters: 3 });
  const admin = admins(cluster.nodes);
  return {
    topology,
    masters: cluster.nodes.map((node) => `${node.host}:${node.port}`),
    connect: (pipelined = false) =>
      new Cluster([...cluster.startupNodes], {
        enableAutoPipelining: pipelined,
        redisOptions: { maxRetriesPerRequest: 1, commandTimeout: 10_000 },
      }),
    sample: admin.sample,
    stop: async () => {
      admin.close();
      await cluster.stop();
    },
  };
}

/** Whole-machine CPU busy share (all cores, 0..1) between two `/proc/stat` reads; undefined off Linux. */
export async function machineBusy(): Promise<() => Promise<number | undefined>> {
  const read = async () => {
    try {
      const { readFile } = await import('node:fs/promises');
      const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
      const values = line.trim().split(/\s+/).slice(1).map(Number);
      const idle = (values[3] ?? 0) + (values[4] ?? 0);
      return { idle, total: values.reduce((sum, value) => sum + value, 0) };
    } catch {
      return undefined;
    }
  };
  const start = await read();
  return async () => {
    const end = await read();
    if (!start || !end || end.total === start.total) return undefined;
    return 1 - (end.idle - start.idle) / (end.total - start.total);
  };
}
