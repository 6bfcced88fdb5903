import pg from 'pg';
import type { TestProject } from 'vitest/node';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Postgres URL the Postgres variant of each test uses, or null when it is skipped. */
    postgresUrl: string | null;
  }
}

/**
 * Every database-backed test runs on PGlite and on Postgres, so a run without Postgres fails: a
 * green run that quietly tested one engine would hide exactly the bugs the second one finds.
 * POSTGRES=skip is the explicit way to run the PGlite variants only (never under CI=true).
 */
export default async function setup(project: TestProject): Promise<void> {
  const url = process.env.TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
  const skip = process.env.POSTGRES === 'skip';
  if (process.env.POSTGRES !== undefined && !skip) {
    throw new Error(`POSTGRES=${process.env.POSTGRES} is not understood: unset it, or set POSTGRES=skip to run the PGlite variants only.`);
  }
  if (skip && process.env.CI === 'true') {
    throw new Error('CI=true runs every test on Postgres too; POSTGRES=skip is refused there.');
  }
  if (skip) {
    console.warn('\n  NOTICE: POSTGRES=skip; the Postgres variant of every test is skipped.\n');
    project.provide('postgresUrl', null);
    return;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    project.provide('postgresUrl', url);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `The tests need Postgres at ${url}, but it did not answer: ${reason}. ` +
        'Start it, point TEST_DATABASE_URL at another one, or set POSTGRES=skip to run the PGlite variants only.',
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
