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
 * Every database-backed test runs on PGlite and on Postgres. Without a reachable Postgres the
 * Postgres variant is skipped with a notice, except under CI=true, where it is required.
 */
export default async function setup(project: TestProject): Promise<void> {
  const url = process.env.TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    project.provide('postgresUrl', url);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (process.env.CI === 'true') {
      throw new Error(`CI=true needs Postgres at ${url}, but it did not answer: ${reason}`);
    }
    console.warn(`\n  NOTICE: no Postgres at ${url} (${reason}); the Postgres variant of every test is skipped.\n`);
    project.provide('postgresUrl', null);
  } finally {
    await client.end().catch(() => undefined);
  }
}
