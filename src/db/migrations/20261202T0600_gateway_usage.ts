import { sql, type Kysely } from 'kysely';

// Frozen in time: this migration must not import application code.
// The gateway's per-key limits, its usage per key, model and day, and the token counters that
// budgets and tokens-per-minute limits read (one row per key, period and window).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('api_keys')
    .addColumn('models', sql`text[]`)
    .addColumn('token_budget', 'bigint', (col) => col.check(sql`token_budget > 0`))
    .addColumn('budget_period', 'text', (col) => col.check(sql`budget_period in ('day', 'week', 'month')`))
    .addColumn('tokens_per_minute', 'integer', (col) => col.check(sql`tokens_per_minute > 0`))
    .execute();
  await db.schema
    .createTable('gateway_usage')
    .addColumn('key_id', 'text', (col) => col.notNull())
    .addColumn('owner', 'text', (col) => col.notNull())
    .addColumn('model', 'text', (col) => col.notNull())
    .addColumn('day', 'date', (col) => col.notNull())
    .addColumn('requests', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('prompt_tokens', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('completion_tokens', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('total_tokens', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('errors', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('estimated', 'boolean', (col) => col.notNull().defaultTo(false))
    .addPrimaryKeyConstraint('gateway_usage_pkey', ['day', 'key_id', 'model'])
    .execute();
  await db.schema.createIndex('gateway_usage_key_idx').on('gateway_usage').columns(['key_id', 'day']).execute();
  await db.schema.createIndex('gateway_usage_owner_idx').on('gateway_usage').columns(['owner', 'day']).execute();
  await db.schema
    .createTable('token_windows')
    .addColumn('key_id', 'text', (col) => col.notNull())
    .addColumn('period', 'text', (col) => col.notNull().check(sql`period in ('minute', 'day', 'week', 'month')`))
    .addColumn('window_start', 'timestamptz', (col) => col.notNull())
    .addColumn('tokens', 'bigint', (col) => col.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('token_windows_pkey', ['key_id', 'period', 'window_start'])
    .execute();
  await db.schema.createIndex('token_windows_start_idx').on('token_windows').column('window_start').execute();
  await sql`comment on table gateway_usage is 'Gateway completions per API key, public model and UTC day.'`.execute(db);
  await sql`comment on table token_windows is 'Tokens used per API key and budget period window (minute, day, week, month), summed over every process.'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('token_windows').execute();
  await db.schema.dropTable('gateway_usage').execute();
  await db.schema.alterTable('api_keys').dropColumn('tokens_per_minute').dropColumn('budget_period').dropColumn('token_budget').dropColumn('models').execute();
}
