import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';

// Every server the harness starts dies with the test process: on a normal exit through the 'exit'
// hook, and on a crash or SIGKILL of the test process through a tiny shell watchdog per server.

// Each running child, with the directory to remove once it is gone.
const running = new Map<ChildProcess, string | undefined>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const [child, directory] of running) {
      child.kill('SIGKILL');
      if (directory) rmSync(directory, { recursive: true, force: true });
    }
  });
}

function startWatchdog(pid: number, directory: string | undefined): ChildProcess {
  const script =
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null; [ -n "$3" ] && rm -rf "$3"';
  const args = [String(process.pid), String(pid), directory ?? ''];
  const watchdog = spawn('sh', ['-c', script, 'redis-watchdog', ...args], { stdio: 'ignore' });
  watchdog.unref();
  return watchdog;
}

/** A child process that never outlives the test process and never keeps it alive. */
export interface OwnedProcess {
  readonly child: ChildProcess;
  /** The last lines it printed, for error messages. */
  output(): string;
  /** Resolves when it has exited. */
  readonly exited: Promise<void>;
}

/** Spawns `command`; `directory` (its scratch space) is removed if the test process dies first. */
export function spawnOwned(command: string, args: readonly string[], directory?: string): OwnedProcess {
  installExitHook();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - 30));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  running.set(child, directory);
  const watchdog = child.pid === undefined ? undefined : startWatchdog(child.pid, directory);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      watchdog?.kill('SIGKILL');
      resolve();
    });
    child.once('error', (error) => {
      keep(Buffer.from(String(error)));
      running.delete(child);
      watchdog?.kill('SIGKILL');
      resolve();
    });
  });
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
  return { child, output: () => lines.join('\n'), exited };
}

/** Sends `signal` and waits for the exit; escalates to SIGKILL after `graceMs`. */
export async function stopProcess(
  owned: OwnedProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 5000,
): Promise<void> {
  if (owned.child.exitCode !== null || owned.child.signalCode !== null) return owned.exited;
  owned.child.kill(signal);
  const timer = setTimeout(() => owned.child.kill('SIGKILL'), graceMs);
  await owned.exited;
  clearTimeout(timer);
}

/** A TCP port that was free a moment ago on 127.0.0.1 (callers retry if someone takes it first). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
