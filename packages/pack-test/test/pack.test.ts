// What a user gets: every published package is packed with `pnpm pack`, checked file by file, then
// installed by npm into a fresh folder outside the workspace, where a small app is type-checked by tsc
// (nodenext, strict, library types checked too) and run on the memory store and on a real Redis.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteNamespace, findRedis, randomNamespace } from '@service-registry/redis-testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  danglingReferences,
  type PackageDir,
  pack,
  publishedPackages,
  sh,
  tarballFile,
  tarballFiles,
} from './packing.js';

const SOURCE_CONDITION = '@service-registry/source';
const fixtures = new URL('../fixtures/app/', import.meta.url).pathname;
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const dirs = Object.keys(publishedPackages) as PackageDir[];

let work: string;
const tarballs = new Map<PackageDir, string>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'service-registry-pack-'));
  for (const dir of dirs) tarballs.set(dir, await pack(dir, join(work, 'tarballs')));
}, 120_000);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe.each(dirs)('the tarball of %s', (dir) => {
  it('holds the build, its sources, README, LICENSE and CHANGELOG, and nothing else', async () => {
    const files = await tarballFiles(tarballs.get(dir) as string);
    for (const file of [
      'package.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'dist/index.js',
      'dist/index.d.ts',
    ]) {
      expect(files).toContain(file);
    }
    const unexpected = files.filter(
      (file) =>
        !/^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/.+\.(js|d\.ts|map)|src\/.+\.ts)$/.test(file),
    );
    expect(unexpected).toEqual([]);
    expect(files.filter((file) => file.endsWith('.test.ts'))).toEqual([]);
  });

  it('names no file it lacks: every sourceMappingURL and every map source is in it', async () => {
    const tarball = tarballs.get(dir) as string;
    expect(await danglingReferences(tarball, await tarballFiles(tarball))).toEqual([]);
  });

  it('has a manifest a registry and a user can use', async () => {
    const manifest = JSON.parse(await tarballFile(tarballs.get(dir) as string, 'package.json'));
    expect(manifest.name).toBe(publishedPackages[dir]);
    expect(manifest.private).toBeUndefined();
    expect(manifest.license).toBe('MIT');
    expect(manifest.repository).toMatchObject({ type: 'git', directory: `packages/${dir}` });
    expect(manifest.homepage).toMatch(/^https:\/\//);
    expect(manifest.keywords.length).toBeGreaterThan(2);
    const ranges = JSON.stringify([manifest.dependencies ?? {}, manifest.peerDependencies ?? {}]);
    expect(ranges).not.toContain('workspace:');
    // The sources are for the workspace only: a tarball exports built JavaScript under every condition.
    expect(JSON.stringify(manifest.exports)).not.toContain(SOURCE_CONDITION);
    expect(JSON.stringify(manifest.exports)).not.toContain('./src/');
    const readme = await tarballFile(tarballs.get(dir) as string, 'README.md');
    expect(readme).toContain(`npm install`);
    expect(readme).toContain(publishedPackages[dir]);
  });
});

describe('installed by npm outside the workspace', () => {
  let app: string;

  beforeAll(async () => {
    app = join(work, 'app');
    await mkdir(app, { recursive: true });
    const file = (dir: PackageDir) => `file:${tarballs.get(dir)}`;
    // A user lists core, the stores and their clients; redis-layout arrives as the stores' dependency.
    // The overrides only stand in for the registry, which does not hold these versions.
    await writeFile(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'installed-app',
        private: true,
        type: 'module',
        dependencies: {
          '@service-registry/core': file('core'),
          '@service-registry/store-memory': file('store-memory'),
          '@service-registry/store-redis': file('store-redis'),
          '@service-registry/store-upstash': file('store-upstash'),
          '@upstash/redis': '1.39.0',
          ioredis: '6.0.0',
        },
        devDependencies: { '@types/node': '^20.19.0' },
        overrides: {
          '@service-registry/core': file('core'),
          '@service-registry/redis-layout': file('redis-layout'),
        },
      }),
    );
    await copyFile(join(fixtures, 'app.ts'), join(app, 'app.ts'));
    await copyFile(join(fixtures, 'tsconfig.json'), join(app, 'tsconfig.json'));
    await sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: app,
      timeoutMs: 110_000,
    });
  }, 120_000);

  it('brings redis-layout as the stores dependency, without listing it', async () => {
    const { stdout } = await sh('npm', ['ls', '@service-registry/redis-layout', '--all', '--parseable'], {
      cwd: app,
    });
    expect(stdout).toContain('@service-registry/redis-layout');
  });

  it('type-checks with tsc: module nodenext, strict, the libraries types checked too', async () => {
    await sh(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, timeoutMs: 60_000 });
  }, 60_000);

  const runApp = async (nodeArgs: readonly string[], args: readonly string[]) => {
    const { stdout } = await sh(process.execPath, [...nodeArgs, 'dist/app.js', ...args], {
      cwd: app,
      timeoutMs: 20_000,
    });
    return JSON.parse(stdout.trim().split('\n').pop() as string);
  };
  const expected = {
    backend: 'node/node',
    instances: 1,
    urlMap: { orders: 'https://api.example.com/v1', invoices: 'https://api.example.com/v1' },
  };

  it('runs on the memory store and exits by itself', async () => {
    expect(await runApp([], ['memory'])).toEqual(expected);
  });

  it.each([SOURCE_CONDITION, 'source'])('runs under node --conditions=%s', async (condition) => {
    expect(await runApp([`--conditions=${condition}`], ['memory'])).toEqual(expected);
  });

  it('runs on a real Redis, in its own namespace, and leaves no record behind', async () => {
    const redis = await findRedis();
    if (redis === undefined) return; // findRedis warned loudly (and throws under CI=true)
    const namespace = randomNamespace('pack');
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      expect(await runApp([], ['redis', redis.url, namespace])).toEqual(expected);
      expect(await client.exists(`${namespace}:{billing}:${(await import('node:os')).hostname()}`)).toBe(0);
    } finally {
      await deleteNamespace(client, namespace);
      client.disconnect();
      await redis.stop();
    }
  });
});
