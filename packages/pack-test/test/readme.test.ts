// The READMEs' code blocks: every ```ts block says whether it runs; each one that does is type-checked
// (against the workspace sources) and run by node, and must exit 0 by itself, with no help from the
// test (a connection left open would keep it running until the timeout).
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type RedisServer, startRedisServer } from '@service-registry/redis-testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sh } from './packing.js';
import { readmeFiles, type Snippet, snippets } from './snippets.js';

const here = new URL('..', import.meta.url).pathname;
const dir = join(here, '.snippets');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const all = readmeFiles().flatMap(snippets);
const running = all.filter((snippet) => snippet.kind === 'runs');
const fileOf = (snippet: Snippet) => join(dir, `${snippet.name.replace(/[^A-Za-z0-9]+/g, '-')}.ts`);

let redis: RedisServer;

beforeAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const snippet of running) await writeFile(fileOf(snippet), `${snippet.code}\n`);
  // Its own server: the README's snippets use the default namespace, `reg`.
  redis = await startRedisServer();
}, 60_000);

afterAll(async () => {
  await redis?.stop();
});

function run(file: string): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@service-registry/source', '--import', 'tsx', file],
      {
        cwd: here,
        env: {
          ...process.env,
          REDIS_URL: redis.url,
          REGISTRY_SECRET: 'a-readme-secret-of-16-characters',
          REDIS_AES_SECRET: 'apicrud-secret',
        },
      },
    );
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    // A snippet that does not exit by itself is a failure, never waited for longer.
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}

describe('README code blocks', () => {
  it('every ts block is marked <!-- snippet: runs --> or <!-- snippet: fragment -->', () => {
    const unmarked = all.filter((snippet) => snippet.kind === undefined).map((s) => `${s.file}:${s.line}`);
    expect(unmarked).toEqual([]);
    expect(running.length).toBeGreaterThanOrEqual(6);
  });

  it('the running ones type-check', async () => {
    await writeFile(
      join(dir, 'tsconfig.json'),
      // Against the built declarations (no source condition), as a user's editor sees them; checking
      // the workspace sources again here would double the time for nothing.
      JSON.stringify({
        extends: '../tsconfig.json',
        include: ['*.ts'],
        compilerOptions: { noEmit: true, customConditions: [] },
      }),
    );
    await sh(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: here, timeoutMs: 90_000 });
  }, 100_000);

  it.each(running.map((snippet) => [snippet.name, snippet] as const))(
    '%s runs and exits 0 by itself',
    async (_name, snippet) => {
      const { code, output } = await run(fileOf(snippet));
      expect(code, `${snippet.file}:${snippet.line}\n${output}`).toBe(0);
    },
    30_000,
  );
});
