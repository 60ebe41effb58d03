#!/usr/bin/env node
import { createInterface } from 'node:readline/promises';
import { run } from './program.js';

const stopSignal = new Promise<void>((resolve) => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
});

const confirm = process.stdin.isTTY
  ? async (question: string): Promise<boolean> => {
      const prompt = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return /^y(es)?$/i.test((await prompt.question(question)).trim());
      } finally {
        prompt.close();
      }
    }
  : undefined;

// Timers of core are unref'd; `watch` and `dashboard` on the memory store would otherwise let the
// process end while they wait for a signal.
const keepAlive = setInterval(() => {}, 60_000);
const code = await run(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  confirm,
  stopSignal,
});
clearInterval(keepAlive);
process.exitCode = code;
// Connections and timers are closed by now; exit even if a library left a handle open.
process.stdout.write('', () => process.exit(code));
