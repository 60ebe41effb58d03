// `pnpm publint` of a published package: lints the tarball `pnpm pack` makes (publishConfig.exports
// applied, workspace ranges rewritten), not the workspace manifest, with publint and attw.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const destination = mkdtempSync(join(tmpdir(), 'service-registry-lint-'));
const run = (command, args) => {
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.status !== 0) {
    rmSync(destination, { recursive: true, force: true });
    process.exit(result.status ?? 1);
  }
};
try {
  run('pnpm', ['pack', '--pack-destination', destination]);
  const tarball = join(
    destination,
    readdirSync(destination).find((name) => name.endsWith('.tgz')),
  );
  run('publint', ['run', '--strict', tarball]);
  run('attw', [tarball, '--profile', 'esm-only']);
} finally {
  rmSync(destination, { recursive: true, force: true });
}
