import { Redis } from 'ioredis';

/**
 * The REST API answers in RESP2 shapes; ioredis 6 speaks RESP3 by default, where sorted-set
 * scores come back as nested pairs. An injected RESP3 client is therefore duplicated as a RESP2
 * connection, which this server owns and closes; a RESP2 client is used as it is.
 */
export function openConnection(redis: Redis | string | undefined): { connection: Redis; owned: boolean } {
  const ownOptions = {
    protocol: 2,
    replyMapping: 'legacy',
    connectionName: 'upstash-test-server',
    // A Redis outage should reach the HTTP client as a prompt 500, not a request held for retries.
    maxRetriesPerRequest: 1,
  } as const;
  if (redis !== undefined && typeof redis !== 'string' && redis.options.protocol === 2) {
    return { connection: redis, owned: false };
  }
  const connection =
    redis === undefined || typeof redis === 'string'
      ? new Redis(redis ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', ownOptions)
      : redis.duplicate(ownOptions);
  // Connection errors reach clients as HTTP 500 answers; without a listener ioredis would also
  // print each reconnection failure.
  connection.on('error', () => {});
  return { connection, owned: true };
}

export async function closeConnection(connection: Redis): Promise<void> {
  // QUIT on a connection that is not up would wait in the offline queue.
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  await connection.quit().catch(() => connection.disconnect());
}
