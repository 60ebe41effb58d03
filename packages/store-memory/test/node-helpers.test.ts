import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defaultInstanceId, lookupIpv4 } from '@service-registry/core/node';
import { describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('./fixtures/signal-child.ts', import.meta.url));
const hangingChild = fileURLToPath(new URL('./fixtures/signal-hang-child.ts', import.meta.url));

/** Spawns a fixture, waits for its `ready`, sends `signal`; resolves to its exit code and output. */
async function signalChild(
  file: string,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; output: string }> {
  const process_ = spawn(
    process.execPath,
    ['--conditions=@service-registry/source', '--import', 'tsx', file],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    process_.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready')) resolve();
    });
    process_.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    process_.on('exit', () => reject(new Error(output)));
  });
  const exited = new Promise<number | null>((resolve) => process_.on('exit', resolve));
  process_.kill(signal);
  return { code: await exited, output };
}

describe('@service-registry/core/node', () => {
  it('defaultInstanceId is the host name, and lookupIpv4 finds a dotted quad or null', async () => {
    const { hostname } = await import('node:os');
    expect(defaultInstanceId()).toBe(hostname());
    const address = await lookupIpv4();
    if (address !== null) expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await lookupIpv4('no-such-host.invalid')).toSatisfy(
      (value: string | null) => value === null || /^\d+\.\d+\.\d+\.\d+$/.test(value),
    );
  });

  it('closeOnSignals exits 1 when its deadline fires first (SIGTERM during a register that hangs)', async () => {
    const { code } = await signalChild(hangingChild, 'SIGTERM');
    expect(code).toBe(1);
  }, 20_000);

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`closeOnSignals deregisters on ${signal}, then exits 0`, async () => {
      const process_ = spawn(
        process.execPath,
        ['--conditions=@service-registry/source', '--import', 'tsx', child],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      await new Promise<void>((resolve, reject) => {
        process_.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('ready')) resolve();
        });
        process_.stderr.on('data', (chunk: Buffer) => {
          output += chunk.toString();
        });
        process_.on('exit', () => reject(new Error(output)));
      });
      const exited = new Promise<number | null>((resolve) => process_.on('exit', resolve));
      process_.kill(signal);
      expect(await exited).toBe(0);
      expect(output).toContain('deregistered child:c-1');
      expect(output).toContain('records left: 0');
    }, 20_000);
  }
});
