import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  CRASH_EXIT_CODES,
  type InstanceConfig,
  type InstanceLine,
  instanceEnv,
  parseInstanceLine,
} from './protocol.js';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const INSTANCE_SCRIPT = fileURLToPath(new URL('./instance.ts', import.meta.url));

/** One instance process and what it said. Times are ms since the epoch. */
export interface InstanceProcess {
  readonly id: string;
  readonly service: string;
  readonly pid: number | undefined;
  readonly spawnedAt: number;
  readyAt: number | undefined;
  /** Set just before the orchestrator's SIGKILL. */
  killedAt: number | undefined;
  /** Set when the final shutdown sent SIGTERM. */
  stoppingAt: number | undefined;
  exitedAt: number | undefined;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly lines: InstanceLine[];
  /** The last lines of stderr and non-protocol stdout, for the report when it crashed. */
  readonly stray: string[];
  readonly exited: Promise<void>;
}

/** Children that must die with the orchestrator, whatever way it ends. */
const live = new Set<InstanceProcess>();
let exitHookInstalled = false;

function killGroup(instance: InstanceProcess, signal: NodeJS.Signals): void {
  if (instance.pid === undefined || instance.exitedAt !== undefined) return;
  try {
    // Negative pid: the whole process group (the instance was spawned detached, as its group leader).
    process.kill(-instance.pid, signal);
  } catch {
    // Already gone.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const instance of live) killGroup(instance, 'SIGKILL');
  });
}

/** Starts `src/instance.ts` in its own process group, with tsx and the `source` condition. */
export function spawnInstance(config: InstanceConfig): InstanceProcess {
  installExitHook();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--conditions=@service-registry/source', '--import', 'tsx', INSTANCE_SCRIPT],
    {
      cwd: PACKAGE_DIR,
      env: { ...process.env, ...instanceEnv(config) },
      // stdin stays open and unused: the instance exits when it closes, i.e. when the orchestrator dies.
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    },
  );
  const lines: InstanceLine[] = [];
  const stray: string[] = [];
  const keepStray = (text: string) => {
    stray.push(text);
    if (stray.length > 20) stray.shift();
  };
  let resolveExited: () => void = () => {};
  const instance: InstanceProcess = {
    id: config.instanceId,
    service: config.serviceName,
    pid: child.pid,
    spawnedAt: Date.now(),
    readyAt: undefined,
    killedAt: undefined,
    stoppingAt: undefined,
    exitedAt: undefined,
    exit: undefined,
    lines,
    stray,
    exited: new Promise<void>((resolve) => {
      resolveExited = resolve;
    }),
  };
  live.add(instance);
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
    const line = parseInstanceLine(text);
    if (!line) return keepStray(text);
    lines.push(line);
    if (line.type === 'ready') instance.readyAt = line.at;
  });
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', keepStray);
  child.stdin?.on('error', () => {});
  const onGone = (code: number | null, signal: NodeJS.Signals | null) => {
    if (instance.exitedAt !== undefined) return;
    instance.exitedAt = Date.now();
    instance.exit = { code, signal };
    live.delete(instance);
    resolveExited();
  };
  child.once('exit', onGone);
  child.once('error', (error) => {
    keepStray(String(error));
    onGone(null, null);
  });
  return instance;
}

/** SIGKILL, as a crash of the host would: no deregistration, the record must expire on its own. */
export function killInstance(instance: InstanceProcess): void {
  instance.killedAt ??= Date.now();
  killGroup(instance, 'SIGKILL');
}

/** SIGTERM (the instance deregisters and exits), then SIGKILL after `graceMs`. */
export async function stopInstance(instance: InstanceProcess, graceMs: number): Promise<void> {
  if (instance.exitedAt !== undefined) return;
  instance.stoppingAt ??= Date.now();
  killGroup(instance, 'SIGTERM');
  const timer = setTimeout(() => killGroup(instance, 'SIGKILL'), graceMs);
  await instance.exited;
  clearTimeout(timer);
}

/** How an instance ended, from the orchestrator's point of view. */
export type Ending = 'running' | 'killed' | 'stopped' | 'stuck-at-stop' | 'crashed';

export function endingOf(instance: InstanceProcess): Ending {
  if (instance.exitedAt === undefined) return 'running';
  if (instance.killedAt !== undefined && instance.killedAt <= instance.exitedAt) return 'killed';
  const crashCodes: readonly number[] = Object.values(CRASH_EXIT_CODES);
  if (instance.exit?.code !== null && crashCodes.includes(instance.exit?.code ?? -1)) return 'crashed';
  if (instance.stoppingAt !== undefined) return instance.exit?.code === 0 ? 'stopped' : 'stuck-at-stop';
  return 'crashed';
}
