// `pnpm chaos [--duration <s>] [--instances <n>] [--quick] [--seed <n>] [--report <path>]`
// Runs the chaos scenario on a redis-server of its own, prints the report, saves it as JSON and markdown,
// and exits 1 when a bound is broken (2 when the run itself could not be carried out).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runChaos } from './chaos.js';
import { type ChaosReport, renderMarkdown } from './report.js';
import { runReshardPhase } from './reshard-phase.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string' },
    instances: { type: 'string' },
    quick: { type: 'boolean', default: false },
    seed: { type: 'string' },
    report: { type: 'string' },
  },
});

const quick = values.quick === true;
const durationSeconds = Number(values.duration ?? (quick ? 30 : 180));
const instances = Number(values.instances ?? (quick ? 20 : 50));
const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31));
if (!(durationSeconds >= 10) || !(instances >= 2) || !Number.isInteger(instances) || !Number.isFinite(seed)) {
  console.error(
    'usage: run.ts [--duration <seconds, ≥ 10>] [--instances <n ≥ 2>] [--quick] [--seed <n>] [--report <path>]',
  );
  process.exit(2);
}
const defaultReport = fileURLToPath(new URL('../reports/last-run', import.meta.url));
const reportBase = resolve(values.report ?? defaultReport).replace(/\.(json|md)$/, '');

// Bounded in time whatever happens: start-up allowance, the chaos phase, drain and stop, plus margin.
const controller = new AbortController();
const deadlineMs = 60_000 + instances * 1000 + durationSeconds * 1000 + 30_000 + (quick ? 60_000 : 120_000);
const deadline = setTimeout(
  () => controller.abort(new Error(`the run passed its ${deadlineMs / 1000} s deadline`)),
  deadlineMs,
);
deadline.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => controller.abort(new Error(`${signal} received`)));
}

const log = (line: string) => console.log(`[chaos ${new Date().toISOString().slice(11, 23)}] ${line}`);
log(`${quick ? 'quick' : 'full'} run: ${durationSeconds} s of chaos, ${instances} instances, seed ${seed}`);
try {
  const chaos = await runChaos({ durationSeconds, instances, quick, seed, log, signal: controller.signal });
  // Then slots moved under instances on a Redis Cluster (smaller in quick mode, to keep CI's run short).
  const reshard = await runReshardPhase({
    instances: quick ? 3 : 15,
    reshards: quick ? 1 : 4,
    slots: quick ? 300 : 1000,
    seed,
    log,
  });
  const violations = [...chaos.violations, ...reshard.violations];
  const report: ChaosReport = { ...chaos, reshard, violations, passed: violations.length === 0 };
  const markdown = renderMarkdown(report);
  mkdirSync(dirname(reportBase), { recursive: true });
  writeFileSync(`${reportBase}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${reportBase}.md`, markdown);
  console.log(`\n${markdown}`);
  log(`report saved to ${reportBase}.{json,md}`);
  process.exitCode = report.passed ? 0 : 1;
} catch (error) {
  // An abort (SIGINT, the deadline) needs no stack; anything else does.
  const detail =
    error instanceof Error ? (controller.signal.aborted ? error.message : error.stack) : String(error);
  console.error(`chaos run not completed: ${detail}`);
  process.exitCode = 2;
} finally {
  clearTimeout(deadline);
}
// Anything still pending (a socket in TIME_WAIT, a stray timer) must not hold the run open.
process.exit(process.exitCode ?? 0);
