import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisServer, sendCommand, startRedisServer } from '../src/index.js';

const refused = (server: RedisServer) =>
  sendCommand(server.port, ['PING']).then(
    () => false,
    () => true,
  );

describe('startRedisServer', () => {
  const servers: RedisServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });

  it('starts on a free port, restarts empty on the same port, stops', async () => {
    const server = await startRedisServer();
    servers.push(server);
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(await sendCommand(server.port, ['SET', 'k', 'v'])).toBe('OK');

    await server.restart();
    expect(server.running).toBe(true);
    expect(await sendCommand(server.port, ['GET', 'k'])).toBeNull();

    await server.stop();
    expect(server.running).toBe(false);
    expect(await refused(server)).toBe(true);
    await server.stop();
  });

  it('kill() stops it at once, like a crash, and restart() brings it back', async () => {
    const server = await startRedisServer();
    servers.push(server);
    await server.kill();
    expect(await refused(server)).toBe(true);
    await server.restart();
    expect(await sendCommand(server.port, ['PING'])).toBe('PONG');
  });

  it('persists nothing', async () => {
    const server = await startRedisServer();
    servers.push(server);
    const client = new Redis(server.url);
    try {
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    } finally {
      client.disconnect();
    }
  });

  it('dies with the test process, even when that process is killed', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures/start-and-hang.ts')],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      child.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
    });
    expect(await sendCommand(port, ['PING'])).toBe('PONG');
    child.kill('SIGKILL');
    const deadline = Date.now() + 5000;
    let alive = true;
    while (alive && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      alive = await sendCommand(port, ['PING']).then(
        () => true,
        () => false,
      );
    }
    expect(alive).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await readdir(tmpdir())).filter((name) => name.startsWith(`redis-${port}-`))).toEqual([]);
  });
});
