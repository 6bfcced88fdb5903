import { sql, type Kysely } from 'kysely';

// Frozen in time: this migration must not import application code.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('events')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    // The inserting transaction's id: listings only show rows older than every running
    // transaction, so a page never misses a row that commits late.
    .addColumn('xid', sql`xid8`, (col) => col.notNull().defaultTo(sql`pg_current_xact_id()`))
    .addColumn('owner', 'text', (col) => col.notNull())
    .addColumn('event_id', 'text', (col) => col.notNull())
    .addColumn('event_type', 'text', (col) => col.notNull())
    .addColumn('event_data', 'jsonb', (col) => col.notNull())
    .addColumn('source', 'text', (col) => col.notNull().check(sql`source in ('client', 'system')`))
    .addColumn('received_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('events_owner_event_id_key', ['owner', 'event_id'])
    .execute();
  await db.schema.createIndex('events_owner_order_idx').on('events').columns(['owner', 'xid desc', 'id desc']).execute();
  await db.schema.createIndex('events_order_idx').on('events').columns(['xid desc', 'id desc']).execute();
  await db.schema
    .createIndex('events_owner_type_order_idx')
    .on('events')
    .columns(['owner', 'event_type', 'xid desc', 'id desc'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('events').execute();
}
