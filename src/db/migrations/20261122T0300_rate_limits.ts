import { sql, type Kysely } from 'kysely';

// Frozen in time: this migration must not import application code.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('rate_limit_windows')
    .addColumn('key', 'text', (col) => col.notNull())
    .addColumn('window_start', 'timestamptz', (col) => col.notNull())
    .addColumn('hits', 'integer', (col) => col.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('rate_limit_windows_pkey', ['key', 'window_start'])
    .execute();
  await db.schema.createIndex('rate_limit_windows_start_idx').on('rate_limit_windows').column('window_start').execute();
  await sql`comment on table rate_limit_windows is 'Requests per API key per fixed rate-limit window, summed over every process.'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limit_windows').execute();
}
