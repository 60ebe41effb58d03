import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type FoundRedis, findRedis, freePort, randomNamespace } from '@service-registry/redis-testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const serviceDir = fileURLToPath(new URL('..', import.meta.url));
const redis = await findRedis();
const namespace = randomNamespace('example');

interface Copy {
  port: number;
  child: ChildProcess;
  output: string;
}

function startCopy(port: number, serviceName: string, resources: string, url: string): Promise<Copy> {
  const child = spawn(
    process.execPath,
    ['--conditions=@service-registry/source', '--import', 'tsx', 'src/main.ts'],
    {
      cwd: serviceDir,
      env: {
        ...process.env,
        PORT: String(port),
        SERVICE_NAME: serviceName,
        RESOURCES: resources,
        REDIS_URL: url,
        REGISTRY_NAMESPACE: namespace,
        REGISTRY_SECRET: 'example-secret-0123456789',
        REGISTRY_TTL: '4',
        REGISTRY_INTERVAL: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const copy: Copy = { port, child, output: '' };
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      copy.output += chunk.toString();
      if (copy.output.includes('listening on')) resolve(copy);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`copy on ${port} exited with ${code}: ${copy.output}`)));
    setTimeout(() => reject(new Error(`copy on ${port} did not start: ${copy.output}`)), 20_000);
  });
}

const registryOf = async (port: number) => {
  const response = await fetch(`http://127.0.0.1:${port}/registry`);
  return (await response.json()) as {
    instances: { name: string; id: string }[];
    urlMap: Record<string, string>;
  };
};

describe.skipIf(!redis)('examples/node-service on Redis', () => {
  const copies: Copy[] = [];
  let found: FoundRedis;

  beforeAll(async () => {
    found = redis as FoundRedis;
    copies.push(await startCopy(18_931, 'catalog', 'product,price', found.url));
    copies.push(await startCopy(18_932, 'orders', 'order,cart', found.url));
  }, 60_000);
  afterAll(async () => {
    for (const copy of copies) copy.child.kill('SIGKILL');
    await found?.stop();
  });

  it('two copies on different ports find each other, and SIGTERM deregisters one at once', async () => {
    const [catalog, orders] = copies as [Copy, Copy];
    const fromCatalog = await registryOf(catalog.port);
    expect(fromCatalog.instances.map((instance) => instance.name)).toEqual(['catalog', 'orders']);
    expect(fromCatalog.urlMap).toEqual({
      product: 'http://127.0.0.1:18931/api/v1',
      price: 'http://127.0.0.1:18931/api/v1',
      order: 'http://127.0.0.1:18932/api/v1',
      cart: 'http://127.0.0.1:18932/api/v1',
    });
    expect((await registryOf(orders.port)).instances).toHaveLength(2);
    const served = await fetch(`http://127.0.0.1:${orders.port}/api/v1/cart`);
    expect(await served.json()).toMatchObject({ resource: 'cart' });

    const exited = new Promise<number | null>((resolve) => orders.child.once('exit', resolve));
    orders.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(orders.output).toContain('deregistered and stopped');
    // Gone at once, not after the 4 s ttl.
    expect((await registryOf(catalog.port)).instances.map((instance) => instance.name)).toEqual(['catalog']);
  }, 30_000);

  it('registered copies are live and ready, and their logs say registered', async () => {
    const [catalog] = copies as [Copy];
    expect(catalog.output).toContain(`catalog:`);
    expect(catalog.output).toMatch(/registered in /);
    expect((await fetch(`http://127.0.0.1:${catalog.port}/livez`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${catalog.port}/readyz`)).status).toBe(200);
  });
});

describe('examples/node-service without a reachable Redis', () => {
  it('stays live but not ready, never logs registered, and says deregistering failed', async () => {
    const closed = await freePort();
    const port = await freePort();
    const copy = await startCopy(port, 'lonely', 'thing', `redis://127.0.0.1:${closed}`);
    try {
      // stderr and stdout arrive in either order: wait for the warning rather than assume it came first.
      const warning =
        /NOT registered yet \(put failed: redis unreachable: connection to 127\.0\.0\.1:\d+ refused/;
      for (const started = Date.now(); !warning.test(copy.output) && Date.now() - started < 10_000; ) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(copy.output).toMatch(warning);
      expect(copy.output).not.toMatch(/registered in /);
      expect((await fetch(`http://127.0.0.1:${port}/livez`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ ready: false, registered: true, ok: false });
      const exited = new Promise<number | null>((resolve) => copy.child.once('exit', resolve));
      copy.child.kill('SIGTERM');
      await exited;
      expect(copy.output).toMatch(/stopped, but deregistering failed: its record expires within 4 s/);
      expect(copy.output).not.toContain('deregistered and stopped');
    } finally {
      copy.child.kill('SIGKILL');
    }
  }, 30_000);
});
