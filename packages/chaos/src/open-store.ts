import { ownedConnectionDefaults, type RedisStore, redisStore } from '@service-registry/store-redis';
import { Cluster, type RedisOptions } from 'ioredis';

/** `cluster://host:port,host:port`: the reshard phase's instances and reader talk to a Redis Cluster. */
export const clusterUrl = (nodes: readonly { host: string; port: number }[]): string =>
  `cluster://${nodes.map((node) => `${node.host}:${node.port}`).join(',')}`;

/**
 * The store of an instance or a reader: `redisStore({ url })` for a `redis://` URL; for a
 * `cluster://` one, an ioredis Cluster with the store's fast-failure defaults, closed with the store.
 */
export function openStore(
  url: string,
  connection: RedisOptions = {},
): { store: RedisStore; close(): Promise<void> } {
  if (!url.startsWith('cluster://')) {
    const store = redisStore({ url, ...connection });
    return { store, close: () => store.close() };
  }
  const nodes = url
    .slice('cluster://'.length)
    .split(',')
    .map((address) => {
      const separator = address.lastIndexOf(':');
      return { host: address.slice(0, separator), port: Number(address.slice(separator + 1)) };
    });
  const client = new Cluster(nodes, { redisOptions: { ...ownedConnectionDefaults, ...connection } });
  client.on('error', () => {});
  const store = redisStore({ client });
  return {
    store,
    async close() {
      await store.close();
      client.disconnect();
    },
  };
}
