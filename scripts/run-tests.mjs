// `pnpm test`: runs every package's vitest suite through turbo, one package at a time (2-core machines,
// and suites that start their own redis-server), then prints one summary line for the whole repo.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const packageDirs = ['packages', 'examples'].flatMap((group) =>
  readdirSync(join(root, group)).map((name) => join(root, group, name)),
);
for (const dir of packageDirs) rmSync(join(dir, '.test-results'), { recursive: true, force: true });

const turbo = spawnSync(
  'pnpm',
  ['exec', 'turbo', 'run', 'test', '--concurrency=1', ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
  },
);

let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];
for (const dir of packageDirs) {
  const report = join(dir, '.test-results', 'vitest.json');
  if (!existsSync(report)) continue;
  const json = JSON.parse(readFileSync(report, 'utf8'));
  const skippedHere = (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
  passed += json.numPassedTests;
  failed += json.numFailedTests;
  skipped += skippedHere;
  rows.push(
    `  ${dir.slice(root.length).padEnd(32)} ${json.numPassedTests} passed, ${json.numFailedTests} failed, ${skippedHere} skipped`,
  );
}
console.log(`\nTest results by package:\n${rows.join('\n')}`);
const code = turbo.status ?? 1;
if (code !== 0 && failed === 0) failed = 1; // a suite that crashed before reporting still fails the run
console.log(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(code);
