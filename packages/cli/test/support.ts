import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const source = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

interface RolldownApi {
  rolldown(options: {
    input: string;
    platform: 'node';
    external: (id: string) => boolean;
    resolve: { conditionNames: string[] };
    logLevel: 'silent';
  }): Promise<{ write(options: { dir: string; format: 'esm' }): Promise<unknown>; close(): Promise<void> }>;
}

/**
 * The CLI from its TypeScript sources (workspace packages included), bundled once per test file with
 * rolldown (through tsdown, a root dev dependency), so each child starts as `node bin.js` does: a
 * TypeScript loader in every child would cost seconds per command on a busy machine. Packages from
 * the registry stay external and resolve from packages/cli/node_modules, as for the published bin.
 */
async function bundleCli(): Promise<string> {
  const fromTsdown = createRequire(createRequire(import.meta.url).resolve('tsdown'));
  const { rolldown }: RolldownApi = await import(pathToFileURL(fromTsdown.resolve('rolldown')).href);
  const dir = fileURLToPath(new URL(`../.test-results/bin-${process.pid}`, import.meta.url));
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const bundle = await rolldown({
    input: source,
    platform: 'node',
    external: (id) => /^(node:|ioredis|commander|@upstash\/redis)/.test(id),
    resolve: { conditionNames: ['@service-registry/source', 'node', 'import', 'default'] },
    logLevel: 'silent',
  });
  try {
    await bundle.write({ dir, format: 'esm' });
  } finally {
    await bundle.close();
  }
  return join(dir, 'bin.js');
}

const bin = await bundleCli();

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a child: nothing of the caller's registry settings leaks in. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, NODE_NO_WARNINGS: '1', ...extra };
}

/** Starts the CLI (bundled from its sources) as a child process. */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [bin, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the CLI to its end. */
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<CliResult> {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Collects a running child's stdout and waits for a line matching `pattern`. */
export function lines(child: ChildProcess): {
  text: () => string;
  waitFor: (pattern: RegExp, ms?: number) => Promise<string>;
} {
  let text = '';
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    for (const waiter of [...waiters]) waiter();
  });
  return {
    text: () => text,
    waitFor: (pattern, ms = 20_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = text.split('\n').find((line) => pattern.test(line));
          if (match !== undefined) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no line matching ${pattern} within ${ms} ms; output so far:\n${text}`));
        }, ms);
        waiters.add(check);
        check();
      }),
  };
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('close', (code) => resolve(code));
  });
}
