import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisSentinel, sendCommand, startRedisSentinel } from '../src/index.js';

const refused = (port: number) =>
  sendCommand(port, ['PING']).then(
    () => false,
    () => true,
  );

describe('startRedisSentinel', () => {
  const started: RedisSentinel[] = [];
  afterAll(async () => {
    await Promise.all(started.map((sentinel) => sentinel.stop()));
  });

  it('starts a master, a synced replica and a sentinel; fails over to the replica; stops everything', async () => {
    const sentinel = await startRedisSentinel({ masterName: 'harness' });
    started.push(sentinel);
    expect(sentinel.sentinels).toHaveLength(1);
    expect(await sentinel.masterAddress()).toEqual({ host: '127.0.0.1', port: sentinel.master.port });

    const client = new Redis({
      sentinels: [...sentinel.sentinels],
      name: 'harness',
      maxRetriesPerRequest: 1,
    });
    client.on('error', () => {});
    try {
      await client.set('k', 'v');
      // The replica has it (WAIT: acknowledged by one replica).
      expect(await client.wait(1, 2000)).toBe(1);
      expect(await sendCommand(sentinel.replica.port, ['GET', 'k'])).toBe('v');

      const before = Date.now();
      await sentinel.failover();
      const ms = Date.now() - before;
      console.info(`sentinel failover (kill to promotion seen by the sentinel): ${ms} ms`);
      expect(await refused(sentinel.master.port)).toBe(true);
      expect(await sentinel.masterAddress()).toEqual({ host: '127.0.0.1', port: sentinel.replica.port });
      expect(await sendCommand(sentinel.replica.port, ['SET', 'k2', 'v2'])).toBe('OK');
      await expect(sentinel.failover()).rejects.toThrow(/already ran/);
    } finally {
      client.disconnect();
    }

    await sentinel.stop();
    for (const { port } of [...sentinel.sentinels, sentinel.master, sentinel.replica]) {
      expect(await refused(port)).toBe(true);
    }
    const ports = sentinel.sentinels.map((address) => address.port);
    const left = (await readdir(tmpdir())).filter((name) =>
      ports.some((port) => name.startsWith(`redis-sentinel-${port}-`)),
    );
    expect(left).toEqual([]);
    await sentinel.stop();
  }, 60_000);

  it('runs three sentinels with a quorum of two, which fail over together', async () => {
    const sentinel = await startRedisSentinel({ sentinels: 3 });
    started.push(sentinel);
    expect(sentinel.masterName).toBe('mymaster');
    expect(sentinel.sentinels).toHaveLength(3);
    for (const { port } of sentinel.sentinels) {
      const master = await sendCommand(port, ['SENTINEL', 'MASTER', 'mymaster']);
      const fields = Object.fromEntries(
        Array.isArray(master)
          ? master.flatMap((item, index) =>
              index % 2 === 0 ? [[String(item), String(master[index + 1])]] : [],
            )
          : [],
      );
      expect(fields.quorum).toBe('2');
      expect(fields['num-other-sentinels']).toBe('2');
      expect(fields['num-slaves']).toBe('1');
    }
    const before = Date.now();
    await sentinel.failover();
    console.info(`sentinel failover with three sentinels: ${Date.now() - before} ms`);
    for (const { port } of sentinel.sentinels) {
      expect(await sendCommand(port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster'])).toEqual([
        '127.0.0.1',
        String(sentinel.replica.port),
      ]);
    }
    await sentinel.stop();
  }, 60_000);

  it('dies with the test process, even when that process is killed', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures/start-sentinel-and-hang.ts')],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const ports = await new Promise<number[]>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim().split(' ').map(Number)));
      child.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
    });
    expect(ports).toHaveLength(3);
    for (const port of ports) expect(await sendCommand(port, ['PING'])).toBe('PONG');
    child.kill('SIGKILL');
    const deadline = Date.now() + 5000;
    let alive = ports;
    while (alive.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const answers = await Promise.all(ports.map(async (port) => ((await refused(port)) ? [] : [port])));
      alive = answers.flat();
    }
    expect(alive).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const left = (await readdir(tmpdir())).filter((name) =>
      ports.some((port) => name.startsWith(`redis-${port}-`) || name.startsWith(`redis-sentinel-${port}-`)),
    );
    expect(left).toEqual([]);
  }, 30_000);
});
