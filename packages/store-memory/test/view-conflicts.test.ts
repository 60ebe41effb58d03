import { createDiscovery, ServiceRegistry, type UrlConflict } from '@service-registry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../src/index.js';

const SECRET = 'view-conflicts-secret-0123456789';

async function waitFor(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('conflicts in a discovery view', () => {
  const closing: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    await Promise.all(closing.splice(0).map((item) => item.close()));
  });

  it('reports each conflict once while it lasts, and again when it comes back after changing', async () => {
    const store = memoryStore();
    const join = async (id: string) => {
      const registry = new ServiceRegistry({ store, secret: SECRET, publicUrl: `https://${id}.example.com` });
      closing.push(registry);
      await registry.register(['account'], { serviceName: 'api', instanceId: id, port: 80 });
      return registry;
    };
    await join('a');
    await join('b');
    const view = createDiscovery({ store, secret: SECRET });
    closing.push(view);
    const seen: UrlConflict[] = [];
    view.on('conflict', (conflict) => seen.push(conflict));
    await view.ready;
    expect(view.snapshot().conflicts).toHaveLength(1);
    const urls = () => seen.map((conflict) => conflict.urls.length);
    await waitFor(() => seen.length === 1);
    // The same conflict, read again, is not reported again.
    view.instances('api');
    view.snapshot();
    const third = await join('c');
    await waitFor(() => seen.length === 2);
    await third.close();
    // Back to the first two URLs: a conflict that changed is reported as it is now.
    await waitFor(() => seen.length === 3);
    expect(urls()).toEqual([2, 3, 2]);
    expect(view.snapshot().conflicts[0]?.urls).toHaveLength(2);
  });
});
