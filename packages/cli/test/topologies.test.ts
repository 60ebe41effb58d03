import { ServiceRegistry } from '@service-registry/core';
import { findRedis, startRedisCluster, startRedisSentinel } from '@service-registry/redis-testing';
import { redisStore } from '@service-registry/store-redis';
import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './support.js';

const SECRET = 'cli-topology-secret-0123456789';
// These start their own servers; findRedis tells whether redis-server is there (and fails under CI without it).
const found = await findRedis();
await found?.stop();

async function registerOne(store: ReturnType<typeof redisStore>, service: string): Promise<ServiceRegistry> {
  const registry = new ServiceRegistry({
    store,
    secret: SECRET,
    namespace: 'topo',
    publicUrl: `https://${service}.example.com`,
  });
  await registry.register([service], { serviceName: service, instanceId: `${service}-1`, port: 8080 });
  return registry;
}

describe.skipIf(found === undefined)('--redis with Sentinel and Cluster URLs', () => {
  const env = cleanEnv({ REGISTRY_SECRET: SECRET, REGISTRY_NAMESPACE: 'topo' });

  it('redis+cluster://host:port,... reads a 3-node Redis Cluster', { timeout: 90_000 }, async () => {
    const cluster = await startRedisCluster();
    const client = new Cluster([...cluster.startupNodes]);
    try {
      const registry = await registerOne(redisStore({ client }), 'clustered');
      const nodes = cluster.startupNodes.map((node) => `${node.host}:${node.port}`).join(',');
      const listed = await runCli(['--redis', `redis+cluster://${nodes}`, 'ls', '--json'], env);
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout).map((instance: { id: string }) => instance.id)).toEqual([
        'clustered-1',
      ]);
      await registry.close();
    } finally {
      client.disconnect();
      await cluster.stop();
    }
  });

  it('redis+sentinel://host:port,.../<master> reads through Sentinel', { timeout: 90_000 }, async () => {
    const sentinel = await startRedisSentinel();
    const client = new Redis({ sentinels: [...sentinel.sentinels], name: sentinel.masterName });
    try {
      const registry = await registerOne(redisStore({ client }), 'sentineled');
      const hosts = sentinel.sentinels.map((node) => `${node.host}:${node.port}`).join(',');
      const listed = await runCli(
        ['--redis', `redis+sentinel://${hosts}/${sentinel.masterName}`, 'ls', '--json'],
        env,
      );
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout).map((instance: { id: string }) => instance.id)).toEqual([
        'sentineled-1',
      ]);
      await registry.close();
    } finally {
      client.disconnect();
      await sentinel.stop();
    }
  });
});
