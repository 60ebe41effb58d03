import { connect } from 'node:net';
import { type FoundPostgres, findPostgres } from '@service-registry/redis-testing';

// The server backends of the importing test file, found once per file (child processes do not look).

/** The PostgreSQL for this file (see `findPostgres`); `undefined` outside CI when there is none. */
export const postgres: FoundPostgres | undefined = await findPostgres();

/**
 * The MySQL or MariaDB for this file: `MYSQL_URL`, else the machine's 127.0.0.1:3306 (root, no
 * password, database `test`). Skipped loudly without one, failed under CI=true.
 */
export const mysql: { url: string } | undefined = await findMysql();

async function findMysql(): Promise<{ url: string } | undefined> {
  if (process.env.MYSQL_URL) return { url: process.env.MYSQL_URL };
  const open = await new Promise<boolean>((resolve) => {
    const socket = connect(3306, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
  if (open) return { url: 'mysql://root@127.0.0.1:3306/test' };
  const notice = 'No MySQL or MariaDB for the tests: set MYSQL_URL or run one on 127.0.0.1:3306.';
  if (process.env.CI === 'true') throw new Error(`${notice} (CI=true, so the MySQL suites fail.)`);
  console.warn(`\n${'!'.repeat(78)}\n!! SKIPPING THE MYSQL SUITES. ${notice}\n${'!'.repeat(78)}\n`);
  return undefined;
}
