import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Whether `command args` exits with 0 within 5 s. */
export async function succeeds(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<boolean> {
  try {
    await run(command, args, { timeout: 5000, env });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a Docker engine may answer: `DOCKER_HOST` is set (testcontainers then decides), or `docker
 * info` succeeds. Loading testcontainers costs about a second, so without either it is never imported.
 * A `docker` client without an engine gets one notice.
 */
export async function dockerMayAnswer(
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void,
): Promise<boolean> {
  if (env.DOCKER_HOST) return true;
  if (await succeeds('docker', ['info'], env)) return true;
  if (await succeeds('docker', ['--version'], env)) {
    warn(
      'A docker client is installed but no Docker engine answers (`docker info` fails): not using Docker.',
    );
  }
  return false;
}

/**
 * Runs `start` (which imports testcontainers and starts a container); a failure (no working container
 * runtime, no image, no network) is one notice and `undefined`, so the caller tries its next source.
 */
export async function startWithTestcontainers<T>(
  what: string,
  warn: (message: string) => void,
  start: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await start();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    warn(`testcontainers could not start ${what} (${reason}): not using Docker.`);
    return undefined;
  }
}

/** The loud notice of a missing backend, or the failure under `CI=true`. */
export function missing(
  what: string,
  notice: string,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void,
): void {
  if (env.CI === 'true')
    throw new Error(`${notice} (CI=true, so the ${what} suites fail instead of skipping.)`);
  warn(`\n${'!'.repeat(78)}\n!! SKIPPING THE ${what.toUpperCase()} SUITES. ${notice}\n${'!'.repeat(78)}\n`);
}
