// The fleet part in a process of its own, with a young generation large enough for its allocation
// rate: with V8's default (16 MiB semi-spaces) the lean generator spent about 30 % of its CPU in
// garbage collection at 50,000 instances, and the young generation's size is fixed when a process
// starts. `runFleetChild` starts this file with the flag; it runs the part and hands back the result.

import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchFleet, type FleetOptions, type FleetResult } from './fleet.js';
import { SEMI_SPACE_FLAG } from './fleet-heap.js';

export { SEMI_SPACE_FLAG };

/** Runs the fleet part in a child process with `SEMI_SPACE_FLAG`; its progress lines go to stderr. */
export async function runFleetChild(options: FleetOptions): Promise<FleetResult> {
  const output = join(tmpdir(), `fleet-result-${process.pid}-${Date.now()}.json`);
  const child = spawn(
    process.execPath,
    [...process.execArgv, SEMI_SPACE_FLAG, fileURLToPath(import.meta.url), JSON.stringify(options), output],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`the fleet part's process exited with ${code}`);
  try {
    return JSON.parse(await readFile(output, 'utf8')) as FleetResult;
  } finally {
    await rm(output, { force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [options, output] = process.argv.slice(2) as [string, string];
  const result = await benchFleet(JSON.parse(options) as FleetOptions);
  await writeFile(output, JSON.stringify(result));
  // Closed stores leave reconnect timers behind for a moment.
  process.exit(0);
}
