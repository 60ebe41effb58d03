import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gcmCodec, ServiceRegistry } from '@service-registry/core';
import { deleteNamespace, findRedis, randomNamespace } from '@service-registry/redis-testing';
import { redisStore } from '@service-registry/store-redis';
import { createUpstashTestServer } from '@service-registry/upstash-test-server';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, exited, lines, runCli, spawnCli } from './support.js';

const SECRET = 'cli-test-secret-0123456789';
const found = await findRedis();

describe.skipIf(found === undefined)('every command against a real Redis', () => {
  const namespace = randomNamespace('cli');
  const url = found?.url as string;
  const env = cleanEnv({ REDIS_URL: url, REGISTRY_SECRET: SECRET, REGISTRY_NAMESPACE: namespace });
  let client: Redis;
  const registries: ServiceRegistry[] = [];

  const start = async (service: string, id: string, endpoints: string[]) => {
    const registry = new ServiceRegistry({
      store: redisStore({ url }),
      secret: SECRET,
      namespace,
      publicUrl: `https://${service}.example.com`,
      ttl: 20,
      interval: 5,
    });
    await registry.register(endpoints, {
      serviceName: service,
      instanceId: id,
      port: 8080,
      ipv4: '10.1.0.1',
    });
    registries.push(registry);
    return registry;
  };

  beforeAll(async () => {
    client = new Redis(url);
    await start('orders', 'orders-1', ['order']);
    await start('orders', 'orders-2', ['order']);
    await start('billing', 'billing-1', ['invoice']);
    // A record written with another cluster's secret.
    const store = redisStore({ client });
    const foreign = await gcmCodec('another-clusters-secret!').encode('{}', `${namespace}:stray:stray-1`);
    await store.put({ namespace, service: 'stray', instanceId: 'stray-1' }, foreign, 60_000);
  });
  afterAll(async () => {
    await Promise.allSettled(registries.map((registry) => registry.close()));
    await deleteNamespace(client, namespace);
    client.disconnect();
    await found?.stop();
  });

  it('ls prints a table with expires-in, --json the instances, --status filters', async () => {
    const table = await runCli(['ls'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /^service\s+instance\s+address\s+public url\s+status\s+endpoints\s+expires in/,
    );
    expect(table.stdout).toMatch(
      /orders\s+orders-2\s+10\.1\.0\.1:8080\s+https:\/\/orders\.example\.com\s+up\s+order\s+\d+\.\d s/,
    );
    expect(table.stderr).toContain('1 record(s) skipped');
    const listed = await runCli(['ls', 'orders', '--json'], env);
    expect(JSON.parse(listed.stdout).map((instance: { id: string }) => instance.id)).toEqual([
      'orders-1',
      'orders-2',
    ]);
    const none = await runCli(['ls', '--status', 'draining', '--json'], env);
    expect(JSON.parse(none.stdout)).toEqual([]);
  });

  it('url-map prints resource -> url; --json with conflicts', async () => {
    const table = await runCli(['url-map'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/invoice\s+https:\/\/billing\.example\.com/);
    const parsed = JSON.parse((await runCli(['url-map', '--json'], env)).stdout);
    expect(parsed).toEqual({
      urlMap: { invoice: 'https://billing.example.com', order: 'https://orders.example.com' },
      conflicts: [],
    });
  });

  it('inspect shows the key, ttls, size, codec and key id; exit 3 when missing, 6 when undecryptable', async () => {
    const shown = await runCli(['inspect', 'orders', 'orders-1', '--json'], env);
    expect(shown.code).toBe(0);
    const report = JSON.parse(shown.stdout);
    expect(report).toMatchObject({ key: `${namespace}:{orders}:orders-1`, codec: 'gcm (g2)', error: null });
    expect(report.keyId).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(report.storeTtlMs).toBeGreaterThan(0);
    expect(report.ttlLeftMs).toBeGreaterThan(0);
    expect(report.record).toMatchObject({ public_url: 'https://orders.example.com', endpoints: ['order'] });
    expect(shown.stdout).not.toContain(SECRET);
    expect((await runCli(['inspect', 'orders', 'orders-9'], env)).code).toBe(3);
    const stray = await runCli(['inspect', 'stray', 'stray-1'], env);
    expect(stray.code).toBe(6);
    expect(stray.stdout).toMatch(/error:\s+.*key/);
  });

  it('rejected lists the record of another secret with the reason', async () => {
    const result = await runCli(['rejected', '--json'], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      { key: `${namespace}:stray:stray-1`, reason: expect.stringMatching(/key/) },
    ]);
  });

  it('watch prints present, then added, updated and removed, one line each; SIGTERM ends it with 0', async () => {
    const child = spawnCli(['watch', 'orders', '--interval', '0.5'], env);
    const output = lines(child);
    await output.waitFor(/present\s+orders\/orders-2/);
    const third = await start('orders', 'orders-3', ['order']);
    await output.waitFor(/added\s+orders\/orders-3 up https:\/\/orders\.example\.com/);
    await third.setStatus('draining');
    await output.waitFor(/updated orders\/orders-3 draining .*status up -> draining/);
    await third.close();
    await output.waitFor(/removed orders\/orders-3/);
    expect(output.text()).not.toContain('billing');
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });

  it('deregister removes one record (exit 3 when there is none)', async () => {
    const victim = await start('billing', 'billing-9', ['invoice']);
    await victim.close({ deregister: false });
    const result = await runCli(['deregister', 'billing', 'billing-9'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('deregistered billing/billing-9\n');
    expect((await runCli(['deregister', 'billing', 'billing-9'], env)).code).toBe(3);
  });

  it('purge asks (exit 5 without a terminal or --yes), then deletes every key of the namespace', async () => {
    const other = randomNamespace('cli-purge');
    const envOther = { ...env, REGISTRY_NAMESPACE: other };
    const registry = new ServiceRegistry({
      store: redisStore({ client }),
      secret: SECRET,
      namespace: other,
      publicUrl: 'https://x.example.com',
    });
    await registry.register(['thing'], { serviceName: 'things', instanceId: 'things-1', port: 80 });
    await registry.close({ deregister: false });
    const declined = await runCli(['purge'], envOther);
    expect(declined.code).toBe(5);
    expect(declined.stderr).toContain('--yes');
    const purged = await runCli(['purge', '--yes'], envOther);
    expect(purged.code).toBe(0);
    expect(purged.stdout).toMatch(/purged namespace .*: 1 record/);
    expect(await client.keys(`${other}:*`)).toEqual([]);
    expect(JSON.parse((await runCli(['ls', '--json'], env)).stdout).length).toBeGreaterThan(0);
  });

  it('exit codes: 2 for usage and configuration, 4 when the store is unreachable; help ends with an example', {
    timeout: 120_000,
  }, async () => {
    const noSecret = await runCli(['ls'], cleanEnv({ REDIS_URL: url }));
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain('REGISTRY_SECRET');
    expect((await runCli(['frobnicate'], env)).code).toBe(2);
    // The secret from a file (an old one on the second line still decrypts), and never in the output.
    const dir = await mkdtemp(join(tmpdir(), 'cli-secret-'));
    const secretFile = join(dir, 'secret');
    await writeFile(secretFile, `a-newer-secret-not-yet-used-0123\n${SECRET}\n`);
    const fromFile = await runCli(
      ['--secret-file', secretFile, 'ls', 'orders'],
      cleanEnv({ REDIS_URL: url, REGISTRY_NAMESPACE: namespace }),
    );
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stdout).toContain('orders-1');
    expect(fromFile.stdout + fromFile.stderr).not.toContain(SECRET);
    await rm(dir, { recursive: true, force: true });
    const missingFile = await runCli(['--secret-file', join(dir, 'nope'), 'ls'], env);
    expect(missingFile.code).toBe(2);
    expect((await runCli(['ls', 'bad:name'], env)).code).toBe(2);
    const unreachable = await runCli(['--redis', 'redis://127.0.0.1:1', 'ls'], env);
    expect(unreachable.code).toBe(4);
    for (const command of [
      'ls',
      'url-map',
      'watch',
      'inspect',
      'rejected',
      'deregister',
      'purge',
      'dashboard',
    ]) {
      const help = await runCli([command, '--help'], env);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toContain('Example:');
    }
  });

  it('--mode apicrud reads the apicrud layout and codec', async () => {
    const registry = new ServiceRegistry({
      store: redisStore({ client }),
      secret: SECRET,
      namespace,
      mode: 'apicrud',
      publicUrl: 'https://py.example.com',
    });
    await registry.register(['legacy'], { serviceName: 'pyservice', instanceId: 'py-1', port: 8000 });
    try {
      const listed = JSON.parse((await runCli(['--mode', 'apicrud', 'ls', '--json'], env)).stdout);
      expect(listed.map((instance: { id: string }) => instance.id)).toEqual(['py-1']);
      const report = JSON.parse(
        (await runCli(['--mode', 'apicrud', 'inspect', 'pyservice', 'py-1', '--json'], env)).stdout,
      );
      expect(report).toMatchObject({
        key: `${namespace}:pyservice:py-1`,
        codec: 'apicrud (AES-CBC)',
        keyId: null,
        error: null,
      });
    } finally {
      await registry.close();
    }
  });

  it('--upstash reads the same records over the REST API (token from the environment)', async () => {
    const upstash = await createUpstashTestServer({ redis: url });
    try {
      const upstashEnv = cleanEnv({
        REGISTRY_SECRET: SECRET,
        REGISTRY_NAMESPACE: namespace,
        UPSTASH_REDIS_REST_TOKEN: upstash.token,
      });
      const listed = await runCli(['--upstash', upstash.url, 'ls', 'billing', '--json'], upstashEnv);
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout).map((instance: { id: string }) => instance.id)).toEqual(['billing-1']);
      const report = JSON.parse(
        (await runCli(['--upstash', upstash.url, 'inspect', 'billing', 'billing-1', '--json'], upstashEnv))
          .stdout,
      );
      expect(report.storeTtlMs).toBeGreaterThan(0);
      const noToken = await runCli(['--upstash', upstash.url, 'ls'], cleanEnv({ REGISTRY_SECRET: SECRET }));
      expect(noToken.code).toBe(2);
    } finally {
      await upstash.close();
    }
  });
});
