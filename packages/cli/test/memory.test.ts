import { describe, expect, it } from 'vitest';
import { cleanEnv, exited, lines, runCli, spawnCli } from './support.js';

// `--memory` is a store inside the CLI's own process, with the demo fleet: each run starts afresh.
const env = cleanEnv();

describe('every command against the memory store (the demo fleet)', () => {
  it('ls, url-map, rejected, inspect', async () => {
    const listed = await runCli(['--memory', 'ls', '--json'], env);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).map((instance: { id: string }) => instance.id)).toEqual([
      'account-1',
      'account-2',
      'billing-1',
      'billing-2',
      'media-1',
      'media-2',
    ]);
    const table = await runCli(['--memory', 'ls', 'media'], env);
    expect(table.stdout.split('\n')[2]).toMatch(
      /^media\s+media-1\s+10\.0\.1\.1:8085\s+https:\/\/media\.example\.com\s+up\s+file,picture\s+1\d\.\d s$/,
    );
    const map = JSON.parse((await runCli(['--memory', 'url-map', '--json'], env)).stdout);
    expect(map.urlMap.invoice).toBe('https://billing.example.com');
    const rejected = await runCli(['--memory', 'rejected'], env);
    expect(rejected.stdout).toMatch(/reg:legacy:legacy-1\s+.*key/);
    const inspected = JSON.parse(
      (await runCli(['--memory', 'inspect', 'billing', 'billing-2', '--json'], env)).stdout,
    );
    expect(inspected).toMatchObject({
      key: 'reg:billing:billing-2',
      codec: 'gcm (g2)',
      storeTtlMs: null,
      error: null,
    });
    expect((await runCli(['--memory', 'inspect', 'billing', 'nope'], env)).code).toBe(3);
  });

  it('deregister and purge', async () => {
    expect((await runCli(['--memory', 'deregister', 'media', 'media-1'], env)).stdout).toBe(
      'deregistered media/media-1\n',
    );
    expect((await runCli(['--memory', 'deregister', 'media', 'nope'], env)).code).toBe(3);
    expect((await runCli(['--memory', 'purge'], env)).code).toBe(5);
    const purged = await runCli(['--memory', 'purge', '--yes'], env);
    expect(purged.code).toBe(0);
    expect(purged.stdout).toMatch(/purged namespace reg: 7 record/);
  });

  it('watch prints the present fleet; dashboard serves the API with the printed token', async () => {
    const watcher = spawnCli(['--memory', 'watch', '--json'], env);
    const watched = lines(watcher);
    const line = await watched.waitFor(/"event":"present".*"id":"media-2"/);
    expect(JSON.parse(line)).toMatchObject({ event: 'present', service: 'media', id: 'media-2' });
    watcher.kill('SIGTERM');
    expect(await exited(watcher)).toBe(0);

    const dashboard = spawnCli(['--memory', 'dashboard', '--port', '0'], env);
    const output = lines(dashboard);
    const printed = await output.waitFor(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/#token=/);
    const [, origin, token] = /^dashboard: (http:\/\/[^/]+)\/#token=(.+)$/.exec(printed) as string[];
    const services = await fetch(`${origin}/v1/services`, {
      headers: { authorization: `Bearer ${decodeURIComponent(token as string)}` },
    });
    expect(services.status).toBe(200);
    expect((await services.json()).services.map((service: { name: string }) => service.name)).toEqual([
      'account',
      'billing',
      'media',
    ]);
    expect((await fetch(`${origin}/v1/services`)).status).toBe(401);
    expect((await fetch(`${origin}/`)).headers.get('content-type')).toMatch(/^text\/html/);
    dashboard.kill('SIGTERM');
    expect(await exited(dashboard)).toBe(0);
  });
});
