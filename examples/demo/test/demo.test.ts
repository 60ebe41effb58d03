import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const demoDir = fileURLToPath(new URL('..', import.meta.url));

it('pnpm demo prints the fleet, shows an expiry and exits 0 well within 20 s', async () => {
  const started = Date.now();
  const { stdout } = await run('npx', ['tsx', '--conditions=@service-registry/source', 'src/main.ts'], {
    cwd: demoDir,
    timeout: 20_000,
  });
  expect(Date.now() - started).toBeLessThan(20_000);
  expect(stdout).toContain('6 instances of 3 services registered');
  expect(stdout).toMatch(/media\s+media-2\s+10\.0\.1\.2:8085/);
  expect(stdout).toMatch(/picture\s+https:\/\/media\.example\.com\/api\/v1/);
  expect(stdout).toMatch(/media-2 expired \d\.\d s after it stopped/);
  expect(stdout).toContain('5 instances alive, 0 url conflicts, 0 records rejected');
}, 30_000);
