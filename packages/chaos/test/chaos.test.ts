import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import type { ChaosReport } from '../src/report.js';

// The short chaos run of CI: `run.ts --quick` as its own process (it installs process-wide handlers
// and owns ~40 child processes), about 65 s on two cores, the reshard phase included. Its report goes to a temp directory so the
// committed reports/last-run.md stays the full run's.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const reportDir = mkdtempSync(join(tmpdir(), 'chaos-quick-'));
afterAll(() => rmSync(reportDir, { recursive: true, force: true }));

function runQuick(reportBase: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--conditions=@service-registry/source',
        '--import',
        'tsx',
        'src/run.ts',
        '--quick',
        '--report',
        reportBase,
      ],
      { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    // run.ts has its own deadline; this one only guards against a hang of the deadline itself.
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, 130_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('the quick chaos run keeps every bound', { timeout: 140_000 }, async () => {
  const reportBase = join(reportDir, 'quick');
  const { code, output } = await runQuick(reportBase);
  expect(code, output).toBe(0);
  const report = JSON.parse(readFileSync(`${reportBase}.json`, 'utf8')) as ChaosReport;
  expect(report.passed).toBe(true);
  expect(report.violations).toEqual([]);
  // The run did what it claims: kills judged, two restarts with instances checked, faults injected.
  expect(report.dead.checked).toBeGreaterThan(0);
  expect(report.restarts).toHaveLength(2);
  for (const restart of report.restarts) expect(restart.checked).toBeGreaterThan(0);
  expect(Object.values(report.faults.phases).reduce((sum, count) => sum + count, 0)).toBeGreaterThan(0);
  expect(report.processes.crashes + report.processes.unhandledRejections).toBe(0);
  // The slow-store phase ran, and the reshard phase moved slots under refreshing instances.
  expect(report.faults.phases.slow).toBeGreaterThan(0);
  expect(report.reshard?.reshards.length).toBe(1);
  expect(report.reshard?.finds).toBeGreaterThan(0);
  // A view of every service watched the reshard too (its bound, none missed or removed, in `violations`).
  expect(report.reshard?.viewSamples).toBeGreaterThan(0);
  // The views watched through both restarts (the bound itself is in `violations`), and timed joins,
  // kills and deregistrations of other processes.
  expect(report.views.views).toHaveLength(3);
  for (const view of report.views.views) {
    expect(view.restarts.map((check) => check.missing)).toEqual([[], []]);
    for (const check of view.restarts) expect(check.judged).toBeGreaterThan(0);
    expect(view.joins.count).toBeGreaterThan(0);
    expect(view.deregistrations.count).toBeGreaterThan(0);
    expect(view.dead.checked).toBeGreaterThan(0);
  }
  expect(readFileSync(`${reportBase}.md`, 'utf8')).toContain('PASSED');
});
