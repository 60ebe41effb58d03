import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { findPostgres, findRedis, freePort } from '../src/index.js';

// Which backend the suites get, with the real testcontainers package installed. This machine kind has
// a docker client but no Docker engine, so the Docker branch is taken up to testcontainers' own runtime
// detection (through DOCKER_HOST) and must fall through to the next source with one notice.
const hasDockerClient = await promisify(execFile)('docker', ['--version']).then(
  () => true,
  () => false,
);

function environment(overrides: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env, ...overrides };
  for (const name of ['REDIS_URL', 'DATABASE_URL', 'DOCKER_HOST', 'CI'])
    if (!(name in overrides)) delete env[name];
  return env;
}

function collect() {
  const notices: string[] = [];
  return { notices, warn: (message: string) => notices.push(message) };
}

describe('findRedis', () => {
  it('takes REDIS_URL first, without looking further', async () => {
    const { notices, warn } = collect();
    const found = await findRedis({ env: environment({ REDIS_URL: 'redis://10.0.0.1:6380' }), warn });
    expect(found).toMatchObject({ url: 'redis://10.0.0.1:6380', source: 'env' });
    expect(notices).toEqual([]);
  });

  it('no Docker engine behind DOCKER_HOST: testcontainers fails, one notice, then redis-server', async () => {
    const { notices, warn } = collect();
    const found = await findRedis({
      env: environment({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' }),
      warn,
    });
    try {
      expect(found?.source).toBe('redis-server');
      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatch(/testcontainers could not start a Redis container .*not using Docker/);
    } finally {
      await found?.stop();
    }
  });

  it('a docker client without an engine: one notice (none without a client), then redis-server', async () => {
    const { notices, warn } = collect();
    const found = await findRedis({ env: environment({}), warn });
    try {
      expect(found?.source).toBe('redis-server');
      expect(notices).toHaveLength(hasDockerClient ? 1 : 0);
      if (hasDockerClient) expect(notices[0]).toMatch(/no Docker engine answers/);
    } finally {
      await found?.stop();
    }
  });

  it('nothing at all: a loud skip, or a failure under CI=true', async () => {
    const { notices, warn } = collect();
    expect(await findRedis({ env: environment({ PATH: '/nonexistent' }), warn })).toBeUndefined();
    expect(notices.at(-1)).toMatch(/SKIPPING THE REDIS SUITES/);
    await expect(findRedis({ env: environment({ PATH: '/nonexistent', CI: 'true' }), warn })).rejects.toThrow(
      /CI=true/,
    );
  });
});

describe('findPostgres', () => {
  it('takes DATABASE_URL first', async () => {
    const { notices, warn } = collect();
    const found = await findPostgres({
      env: environment({ DATABASE_URL: 'postgres://u@db.example:5432/x' }),
      warn,
    });
    expect(found).toMatchObject({ url: 'postgres://u@db.example:5432/x', source: 'env' });
    expect(notices).toEqual([]);
  });

  it('no Docker engine behind DOCKER_HOST: one notice, then the machine’s own server', async () => {
    const port = await freePort();
    const { notices, warn } = collect();
    // A local server that is not there either, so the result does not depend on this machine.
    const env = environment({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(await findPostgres({ env, warn, local: { port } })).toBeUndefined();
    expect(notices).toHaveLength(2);
    expect(notices[0]).toMatch(/testcontainers could not start a PostgreSQL container/);
    expect(notices[1]).toMatch(/SKIPPING THE POSTGRESQL SUITES/);
  });

  it('finds a server listening on the local address, as postgres://user@host:port/test', async () => {
    const { createServer } = await import('node:net');
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const found = await findPostgres({
        env: environment({ PGUSER: 'app' }),
        warn: () => {},
        local: { port },
      });
      expect(found).toMatchObject({ url: `postgres://app@127.0.0.1:${port}/test`, source: 'local' });
    } finally {
      server.close();
    }
  });

  it('nothing at all: a loud skip, or a failure under CI=true', async () => {
    const port = await freePort();
    await expect(
      findPostgres({ env: environment({ CI: 'true' }), warn: () => {}, local: { port } }),
    ).rejects.toThrow(/CI=true, so the PostgreSQL suites fail/);
  });
});
