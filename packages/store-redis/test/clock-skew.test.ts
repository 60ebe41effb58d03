import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ServiceRegistry } from '@service-registry/core';
import { deleteNamespace, randomNamespace } from '@service-registry/redis-testing';
import { waitFor } from '@service-registry/test-suite';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisStore } from '../src/index.js';
import { redis } from './found-redis.js';
import { skipped } from './skipped.js';

const child = fileURLToPath(new URL('./fixtures/shifted-clock-child.ts', import.meta.url));
const SECRET = 'clock-skew-secret-0123456789';

interface ChildHandle {
  readonly process: ChildProcess;
  readonly messages: Record<string, unknown>[];
}

function start(role: 'writer' | 'reader', shiftMs: number, url: string, namespace: string): ChildHandle {
  const spawned = spawn(
    process.execPath,
    ['--conditions=@service-registry/source', '--import', 'tsx', child],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, ROLE: role, SHIFT_MS: String(shiftMs), REDIS_URL: url, NAMESPACE: namespace },
    },
  );
  const messages: Record<string, unknown>[] = [];
  let buffer = '';
  spawned.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) messages.push(JSON.parse(line) as Record<string, unknown>);
  });
  return { process: spawned, messages };
}

async function stop(handle: ChildHandle): Promise<void> {
  const exited = new Promise((resolve) => handle.process.once('exit', resolve));
  handle.process.stdin?.end();
  await exited;
}

// Issue 10, item 3: a writer 60 s behind (ttl 3) was invisible to every reader; a reader 60 s ahead
// saw nothing. Expiry now runs on Redis' clock (TIME), measured by each process.
if (redis) {
  const found = redis;
  const namespaces: string[] = [];
  afterAll(async () => {
    const cleaner = new Redis(found.url);
    for (const name of namespaces) await deleteNamespace(cleaner, name);
    cleaner.disconnect();
    await found.stop();
  });

  describe('clock skew between processes, on real Redis', () => {
    it('a writer process 60 s behind is seen by a normal reader, and says it is skewed', async () => {
      const namespace = randomNamespace('skew');
      namespaces.push(namespace);
      const store = redisStore({ url: found.url });
      const reader = new ServiceRegistry({ store, secret: SECRET, namespace });
      const writer = start('writer', -60_000, found.url, namespace);
      try {
        await waitFor(async () => (await reader.find('svc')).instances.length === 1, 15_000, 100);
        // Visible for several ttls in a row, not just once.
        for (let round = 0; round < 10; round++) {
          expect((await reader.find('svc')).instances.map((instance) => instance.id)).toEqual(['skewed']);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        const last = writer.messages.at(-1) as {
          health: { ok: boolean; clock: { skewed: boolean; offsetMs: number } };
        };
        expect(last.health.ok).toBe(true);
        expect(last.health.clock.skewed).toBe(true);
        expect(Math.abs(last.health.clock.offsetMs - 60_000)).toBeLessThan(1000);
      } finally {
        await stop(writer);
        await reader.close();
        await store.close();
      }
    }, 40_000);

    it('a reader process 60 s ahead sees a normal writer, and a stopped one leaves on time', async () => {
      const namespace = randomNamespace('skew');
      namespaces.push(namespace);
      const store = redisStore({ url: found.url });
      const writer = new ServiceRegistry({
        store,
        secret: SECRET,
        publicUrl: 'http://a.example',
        namespace,
        ttl: 3,
        interval: 1,
      });
      await writer.register(['thing'], { serviceName: 'svc', instanceId: 'normal', port: 1 });
      const reader = start('reader', 60_000, found.url, namespace);
      type Seen = { ids: string[] | null; clock: { skewed: boolean } };
      try {
        await waitFor(() => reader.messages.length >= 10, 15_000, 100);
        const seen = reader.messages.slice(-5) as Seen[];
        for (const message of seen) expect(message.ids).toEqual(['normal']);
        expect(seen.at(-1)?.clock.skewed).toBe(true);
        await writer.close({ deregister: false });
        const stoppedAt = Date.now();
        await waitFor(() => (reader.messages.at(-1) as Seen).ids?.length === 0, 10_000, 50);
        expect(Date.now() - stoppedAt).toBeLessThan(3000 + 1500);
      } finally {
        await stop(reader);
        await store.close();
      }
    }, 40_000);
  });
} else {
  skipped('clock skew');
}
