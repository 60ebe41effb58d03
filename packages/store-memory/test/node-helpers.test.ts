import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defaultInstanceId, lookupIpv4 } from '@service-registry/core/node';
import { describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('./fixtures/signal-child.ts', import.meta.url));

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
