import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/db/errors.js';
import { OPENS_A_DATABASE, openTestDatabase } from '../support/database.js';
import { engines } from '../support/service.js';

/** Why a query on `database` fails, or undefined when it succeeds. */
async function failureOf(query: Promise<unknown>): Promise<unknown> {
  try {
    await query;
    return undefined;
  } catch (error) {
    return error;
  }
}

describe.each(engines())('Database on %s', (engine) => {
  it('closes even when no query went through it, so a later query fails as unavailable', OPENS_A_DATABASE, async () => {
    const test = await openTestDatabase(engine, { migrate: false });
    await test.close();
    const failure = await failureOf(sql`select 1`.execute(test.database.db));
    expect(failure).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(failure)).toBe(true);
  });

  it('closes after queries too, and closing twice is fine', OPENS_A_DATABASE, async () => {
    const test = await openTestDatabase(engine);
    await sql`select 1`.execute(test.database.db);
    await test.database.close();
    await test.close();
    expect(isDatabaseUnavailable(await failureOf(sql`select 1`.execute(test.database.db)))).toBe(true);
  });

  it('gives a handle with its own pool that closes without closing the database', OPENS_A_DATABASE, async () => {
    const test = await openTestDatabase(engine, { migrate: false });
    try {
      const own = await test.database.withOwnPool(2);
      await own.close();
      const result = await sql<{ one: number }>`select 1 as one`.execute(test.database.db);
      expect(result.rows).toEqual([{ one: 1 }]);
      if (engine === 'postgres') expect(isDatabaseUnavailable(await failureOf(sql`select 1`.execute(own.db)))).toBe(true);
    } finally {
      await test.close();
    }
  });
});
