import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { type MigrationResultSet, type Migrator, NO_MIGRATIONS } from 'kysely/migration';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { EventRepository } from '../../src/db/events.js';
import { createMigrator } from '../../src/db/migrate.js';
import { migrations } from '../../src/db/migrations/index.js';
import type { Tables } from '../../src/db/schema.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { engines } from '../support/service.js';

const NAMES = Object.keys(migrations).sort();

/**
 * Everything the migrations own in the schema, as text: relations (tables, indexes, sequences),
 * columns, constraints, index definitions, comments, types and functions. Two equal fingerprints
 * mean a down() undid exactly what its up() did.
 */
async function fingerprint(database: Database): Promise<string[]> {
  const schema = database.schema;
  const { rows } = await sql<{ item: string }>`
    select 'relation ' || c.relname || ' ' || c.relkind::text as item
      from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = ${schema}
    union all
    select 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') || ' ' || is_identity
      from information_schema.columns where table_schema = ${schema}
    union all
    select 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
      from pg_constraint where connamespace = (select oid from pg_namespace where nspname = ${schema})
    union all
    select 'index ' || indexname || ' ' || indexdef from pg_indexes where schemaname = ${schema}
    union all
    select 'comment ' || c.relname || ' ' || d.objsubid || ' ' || d.description
      from pg_description d join pg_class c on c.oid = d.objoid join pg_namespace n on n.oid = c.relnamespace where n.nspname = ${schema}
    union all
    select 'type ' || t.typname from pg_type t where t.typnamespace = (select oid from pg_namespace where nspname = ${schema})
    union all
    select 'function ' || p.proname from pg_proc p where p.pronamespace = (select oid from pg_namespace where nspname = ${schema})
  `.execute(database.db);
  // Kysely's own bookkeeping (kysely_migration, kysely_migration_lock) stays.
  return rows.map((row) => row.item).filter((item) => !item.includes('kysely_migration')).sort();
}

/** The tables the migrations created, by name. */
const tablesIn = (items: string[]) => items.filter((item) => item.startsWith('relation ') && item.endsWith(' r')).map((item) => item.split(' ')[1]);

/** A migration step's results, or its error. */
function applied({ error, results }: MigrationResultSet): { name: string; direction: string }[] {
  if (error) throw error instanceof Error ? error : new Error(String(error));
  for (const result of results ?? []) expect(result.status, result.migrationName).toBe('Success');
  return (results ?? []).map((result) => ({ name: result.migrationName, direction: result.direction }));
}

describe.each(engines())('migrations on %s', (engine) => {
  let test: TestDatabase;
  let migrator: Migrator;
  beforeAll(async () => {
    test = await openTestDatabase(engine, { migrate: false });
    migrator = createMigrator(test.database.db, test.database.schema);
  });
  afterAll(async () => {
    await test?.close();
  });
  // Each test starts from an empty schema.
  beforeEach(async () => {
    applied(await migrator.migrateTo(NO_MIGRATIONS));
  });

  it('are registered in name order, each with an up and a down', () => {
    expect(Object.keys(migrations)).toEqual(NAMES);
    for (const [name, migration] of Object.entries(migrations)) {
      expect(typeof migration.up, name).toBe('function');
      expect(typeof migration.down, name).toBe('function');
    }
  });

  it('go up from empty, down to empty (nothing left but the bookkeeping) and up again', async () => {
    expect(await fingerprint(test.database)).toEqual([]);

    expect(applied(await migrator.migrateToLatest())).toEqual(NAMES.map((name) => ({ name, direction: 'Up' })));
    const latest = await fingerprint(test.database);
    const tables: (keyof Tables)[] = ['api_keys', 'events', 'rate_limit_windows', 'locations', 'user_data', 'tasks', 'task_results', 'selections', 'models', 'model_online', 'model_activations', 'task_events', 'conversations', 'chat_messages', 'gateway_usage', 'token_windows'];
    expect(tablesIn(latest).sort()).toEqual([...tables].sort());

    expect(applied(await migrator.migrateTo(NO_MIGRATIONS))).toEqual([...NAMES].reverse().map((name) => ({ name, direction: 'Down' })));
    expect(await fingerprint(test.database)).toEqual([]);

    expect(applied(await migrator.migrateToLatest())).toEqual(NAMES.map((name) => ({ name, direction: 'Up' })));
    expect(await fingerprint(test.database)).toEqual(latest);
    // The schema migrated again is one the repositories work on.
    const events = new EventRepository(test.database);
    expect(await events.ingest([{ owner: 'o', event_id: randomUUID(), event_type: 't', event_data: {}, source: 'client' }])).toEqual([{ outcome: 'accepted', receivedAt: expect.any(Date) }]);
  });

  it("introspect only their own schema, so other schemas' churn cannot fail them", async () => {
    applied(await migrator.migrateToLatest());
    const own = (await test.database.db.introspection.getTables()).map((table) => table.name).sort();
    expect(own).toEqual(tablesIn(await fingerprint(test.database)).sort());
    expect((await test.database.db.introspection.getTables({ withInternalKyselyTables: true })).map((table) => table.name)).toEqual(expect.arrayContaining(['kysely_migration', 'kysely_migration_lock']));
    expect(await test.database.db.introspection.getSchemas()).toEqual([{ name: test.database.schema }]);

    // Other schemas created and dropped while this one migrates down and up: Kysely's own
    // introspector read every schema's tables and failed on the ones dropped under it.
    let churning = true;
    const churn = (async () => {
      for (let round = 0; churning; round += 1) {
        const other = `churn_${randomUUID().replaceAll('-', '')}`;
        await sql`create schema ${sql.id(other)}`.execute(test.database.db);
        await sql`create table ${sql.id(other, 'kysely_migration')} (name text)`.execute(test.database.db);
        await sql`drop schema ${sql.id(other)} cascade`.execute(test.database.db);
      }
    })();
    try {
      for (let round = 0; round < 3; round += 1) {
        applied(await migrator.migrateTo(NO_MIGRATIONS));
        applied(await migrator.migrateToLatest());
      }
    } finally {
      churning = false;
      await churn;
    }
    expect(tablesIn(await fingerprint(test.database)).sort()).toEqual(own);
  });

  it('step up one at a time, each down() undoing exactly its up()', async () => {
    for (const name of NAMES) {
      const before = await fingerprint(test.database);
      expect(applied(await migrator.migrateUp())).toEqual([{ name, direction: 'Up' }]);
      const after = await fingerprint(test.database);
      expect(after, `${name} changes the schema`).not.toEqual(before);

      expect(applied(await migrator.migrateDown())).toEqual([{ name, direction: 'Down' }]);
      expect(await fingerprint(test.database), `${name} down`).toEqual(before);
      applied(await migrator.migrateUp());
      expect(await fingerprint(test.database), `${name} up again`).toEqual(after);
    }
  });

  it('step down one at a time from the latest, each up() restoring what its down() removed', async () => {
    applied(await migrator.migrateToLatest());
    for (const name of [...NAMES].reverse()) {
      const before = await fingerprint(test.database);
      expect(applied(await migrator.migrateDown())).toEqual([{ name, direction: 'Down' }]);
      const after = await fingerprint(test.database);
      applied(await migrator.migrateUp());
      expect(await fingerprint(test.database), `${name} up again`).toEqual(before);
      applied(await migrator.migrateDown());
      expect(await fingerprint(test.database), `${name} down again`).toEqual(after);
    }
    expect(await fingerprint(test.database)).toEqual([]);
  });
});
