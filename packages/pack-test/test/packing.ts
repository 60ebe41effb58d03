import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root, from this file (packages/pack-test/test). */
export const repoRoot = new URL('../../../', import.meta.url).pathname;

/** The packages a user installs (directory under packages/ -> npm name). */
export const publishedPackages = {
  cli: '@service-registry/cli',
  core: '@service-registry/core',
  http: '@service-registry/http',
  'redis-layout': '@service-registry/redis-layout',
  'store-keyv': '@service-registry/store-keyv',
  'store-memory': '@service-registry/store-memory',
  'store-redis': '@service-registry/store-redis',
  'store-upstash': '@service-registry/store-upstash',
  'test-suite': '@service-registry/test-suite',
} as const;

export type PackageDir = keyof typeof publishedPackages;

/** Runs a command, failing with its output when it exits non-zero. */
export async function sh(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(command, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${command} ${args.join(' ')} failed in ${options.cwd}: ${failed.message}\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`,
    );
  }
}

/** `pnpm pack` of one workspace package into `destination`; resolves to the tarball's path. */
export async function pack(dir: PackageDir, destination: string): Promise<string> {
  await mkdir(destination, { recursive: true });
  const before = new Set(await readdir(destination));
  await sh('pnpm', ['pack', '--pack-destination', destination], { cwd: join(repoRoot, 'packages', dir) });
  const created = (await readdir(destination)).filter((name) => !before.has(name) && name.endsWith('.tgz'));
  if (created.length !== 1) throw new Error(`pnpm pack of ${dir} made ${created.length} tarballs`);
  return join(destination, created[0] as string);
}

/** The files in a tarball, without the leading `package/`. */
export async function tarballFiles(tarball: string): Promise<string[]> {
  const { stdout } = await sh('tar', ['-tzf', tarball], { cwd: repoRoot });
  return stdout
    .split('\n')
    .filter((line) => line.length > 0 && !line.endsWith('/'))
    .map((line) => line.replace(/^package\//, ''))
    .sort();
}

/** One file of a tarball, as text. */
export async function tarballFile(tarball: string, path: string): Promise<string> {
  const { stdout } = await sh('tar', ['-xzOf', tarball, `package/${path}`], { cwd: repoRoot });
  return stdout;
}

/** Every `sourceMappingURL` of the tarball's files, and every `sources` entry of its maps, that names a file it lacks. */
export async function danglingReferences(tarball: string, files: readonly string[]): Promise<string[]> {
  const present = new Set(files);
  const dangling: string[] = [];
  const resolve = (from: string, relative: string) => {
    const parts = from.split('/').slice(0, -1);
    for (const part of relative.split('/')) {
      if (part === '..') parts.pop();
      else if (part !== '.') parts.push(part);
    }
    return parts.join('/');
  };
  for (const file of files) {
    if (!/\.(js|d\.ts)$/.test(file)) continue;
    const text = await tarballFile(tarball, file);
    for (const match of text.matchAll(/\/\/# sourceMappingURL=(\S+)/g)) {
      const target = resolve(file, match[1] as string);
      if (!present.has(target)) dangling.push(`${file} -> ${target}`);
    }
  }
  for (const file of files) {
    if (!file.endsWith('.map')) continue;
    const map = JSON.parse(await tarballFile(tarball, file)) as {
      sources: string[];
      sourcesContent?: unknown[];
    };
    if (Array.isArray(map.sourcesContent) && map.sourcesContent.length === map.sources.length) continue;
    for (const source of map.sources) {
      const target = resolve(file, source);
      if (!present.has(target)) dangling.push(`${file} -> ${target}`);
    }
  }
  return dangling;
}
