import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDiscovery, type DiscoveryView, gcmCodec, ServiceRegistry } from '@service-registry/core';
import { type RedisServer, startRedisServer } from '@service-registry/redis-testing';
import { redisStore } from '@service-registry/store-redis';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiscoveryHandler } from '../src/index.js';
import { type NodeServer, serve } from '../src/node/index.js';
import { CHROMIUM_FLAGS, chromiumPath } from './chromium.js';

const SECRET = 'dashboard-test-secret-012345';
const TOKEN = 'dashboard-test-token-0123456';
const NAMESPACE = 'dash';
const executablePath = await chromiumPath();
// Playwright's innerText (rendered text, cells apart), which biome takes for the DOM property.
// biome-ignore lint/performance/useDomNodeTextContent: a Playwright locator method, not the DOM's.
const textOf = (locator: Locator) => locator.innerText();
const screenshot = fileURLToPath(new URL('../.test-results/dashboard.png', import.meta.url));

describe.skipIf(executablePath === undefined)(
  'the dashboard in headless Chromium against a real Redis',
  () => {
    let redis: RedisServer;
    let view: DiscoveryView;
    let server: NodeServer;
    let context: BrowserContext;
    let page: Page;
    let profile: string;
    const registries = new Map<string, ServiceRegistry>();

    const start = async (
      service: string,
      id: string,
      endpoints: string[],
      publicUrl = `https://${service}.example.com`,
    ) => {
      const registry = new ServiceRegistry({
        store: redisStore({ url: redis.url }),
        secret: SECRET,
        namespace: NAMESPACE,
        publicUrl,
        ttl: 4,
        interval: 1,
      });
      await registry.register(endpoints, {
        serviceName: service,
        instanceId: id,
        port: 8080,
        ipv4: '10.2.0.7',
        meta: { version: '2.1.0' },
      });
      registries.set(id, registry);
      return registry;
    };
    const row = (id: string) => page.locator(`tr[data-instance="${id}"]`);

    beforeAll(async () => {
      // Its own redis-server: the last test stops it.
      redis = await startRedisServer();
      await start('orders', 'orders-1', ['order', 'cart']);
      await start('orders', 'orders-2', ['order', 'cart']);
      await start('billing', 'billing-1', ['invoice', 'payment']);
      const foreign = await gcmCodec('another-clusters-secret!').encode('{}', `${NAMESPACE}:legacy:legacy-1`);
      await redisStore({ url: redis.url }).put(
        { namespace: NAMESPACE, service: 'legacy', instanceId: 'legacy-1' },
        foreign,
        600_000,
      );
      view = createDiscovery({
        store: redisStore({ url: redis.url }),
        secret: SECRET,
        namespace: NAMESPACE,
        ttl: 4,
        interval: 1,
        maxStaleness: 120,
      });
      server = await serve(createDiscoveryHandler({ view, token: TOKEN, title: 'service registry: dash' }));
      profile = await mkdtemp(join(tmpdir(), 'chromium-profile-'));
      context = await chromium.launchPersistentContext(profile, {
        executablePath,
        headless: true,
        args: CHROMIUM_FLAGS,
        viewport: { width: 1280, height: 820 },
      });
      page = await context.newPage();
      await page.goto(`${server.url}/#token=${TOKEN}`);
    });
    afterAll(async () => {
      await context?.close();
      await server?.close();
      await view?.close();
      await Promise.allSettled(
        [...registries.values()].map((registry) => registry.close({ deregister: false })),
      );
      await redis?.stop();
      if (profile) await rm(profile, { recursive: true, force: true });
    });

    it('lists the instances with status, address, public url, endpoints and a ttl; counts the rejected record', async () => {
      await row('orders/orders-1').waitFor();
      await expect.poll(() => page.locator('tr[data-instance]').count()).toBe(3);
      const text = await textOf(row('orders/orders-1'));
      expect(text).toMatch(
        /orders\s+orders-1\s+up\s+10\.2\.0\.7:8080\s+https:\/\/orders\.example\.com\s+order, cart\s+(\d\.\d s|checking)/,
      );
      expect(await textOf(page.locator('#rejected-count'))).toBe('1');
      expect(await textOf(page.locator('#rejected-rows'))).toMatch(/dash:legacy:legacy-1\s+.*key/);
      expect(await textOf(page.locator('tr[data-service="orders"]'))).toMatch(/orders\s+2\s+2\s+0\s+0\s+0/);
      // The token left the address bar.
      expect(page.url()).not.toContain(TOKEN);
    });

    it('shows a new instance without a reload, and a url-map conflict', async () => {
      await start('orders', 'orders-3', ['order'], 'https://orders-canary.example.com');
      await row('orders/orders-3').waitFor({ timeout: 10_000 });
      await page.locator('#conflicts:not([hidden])').waitFor({ timeout: 10_000 });
      expect(await textOf(page.locator('#conflict-rows'))).toContain('order');
    });

    it('shows a status change, and the filter box narrows the list', async () => {
      await registries.get('orders-2')?.setStatus('draining');
      await page
        .locator('tr[data-instance="orders/orders-2"][data-status="draining"]')
        .waitFor({ timeout: 10_000 });
      await mkdir(join(screenshot, '..'), { recursive: true });
      await page.screenshot({ path: screenshot, fullPage: true });
      await page.fill('#filter', 'billing');
      await expect.poll(() => page.locator('tr[data-instance]').count()).toBe(1);
      await page.fill('#filter', '');
      await expect.poll(() => page.locator('tr[data-instance]').count()).toBe(4);
    });

    it('drops a killed instance once its ttl has passed', async () => {
      // A crash: no deregister, the record stays until its 4 s ttl ends.
      await registries.get('orders-3')?.close({ deregister: false });
      registries.delete('orders-3');
      await row('orders/orders-3').waitFor({ state: 'detached', timeout: 15_000 });
    });

    it('shows the stale banner when the store stops', async () => {
      await redis.stop();
      const banner = page.locator('#stale-banner:not([hidden])');
      await banner.waitFor({ timeout: 20_000 });
      expect(await textOf(banner)).toMatch(/not answering/);
      await page.screenshot({ path: screenshot.replace(/\.png$/, '-stale.png'), fullPage: true });
      // The last known instances stay on the page.
      expect(await row('orders/orders-1').count()).toBe(1);
    });
  },
);
