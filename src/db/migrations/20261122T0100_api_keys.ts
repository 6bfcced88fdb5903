import { sql, type Kysely } from 'kysely';

// Frozen in time: this migration must not import application code.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (col) => col.primaryKey())
    // Creation order for stable pagination (timestamps can tie).
    .addColumn('seq', 'bigint', (col) => col.notNull().unique().generatedAlwaysAsIdentity())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('owner', 'text', (col) => col.notNull())
    .addColumn('scopes', sql`text[]`, (col) => col.notNull())
    .addColumn('token_hash', 'bytea', (col) => col.notNull().unique())
    .addColumn('token_hint', 'text', (col) => col.notNull())
    .addColumn('origin', 'text', (col) =>
      col.notNull().check(sql`origin in ('api', 'cli', 'admin_token', 'bootstrap')`),
    )
    .addColumn('rate_limit_per_minute', 'integer', (col) => col.check(sql`rate_limit_per_minute >= 0`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('api_keys_owner_idx').on('api_keys').columns(['owner', 'seq desc']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('api_keys').execute();
}
