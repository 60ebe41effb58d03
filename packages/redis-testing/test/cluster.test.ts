import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisCluster, sendCommand, startRedisCluster } from '../src/index.js';

describe('startRedisCluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('forms a three-master cluster that serves every slot', async () => {
    expect(cluster.nodes).toHaveLength(3);
    for (const node of cluster.nodes) {
      const info = String(await sendCommand(node.port, ['CLUSTER', 'INFO']));
      expect(info).toContain('cluster_state:ok');
      expect(info).toContain('cluster_size:3');
    }
    const client = new Cluster([...cluster.startupNodes]);
    try {
      // Keys spread over the slots, so every master takes some.
      await Promise.all(Array.from({ length: 30 }, (_, index) => client.set(`key-${index}`, String(index))));
      expect(await client.get('key-7')).toBe('7');
      const counts = await Promise.all(client.nodes('master').map((node) => node.dbsize()));
      expect(counts.every((count) => count > 0)).toBe(true);
    } finally {
      client.disconnect();
    }
  });

  it('stops every node', async () => {
    await cluster.stop();
    for (const node of cluster.nodes) {
      await expect(sendCommand(node.port, ['PING'])).rejects.toThrow();
    }
  });
});
