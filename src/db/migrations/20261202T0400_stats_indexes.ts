import { sql, type Kysely } from 'kysely';

// Frozen in time: this migration must not import application code.
// GET /stats reads recent time ranges: these indexes keep each read proportional to the rows in
// its window, not to the table.
export async function up(db: Kysely<any>): Promise<void> {
  // Events are only ever appended, so their physical order follows received_at: a BRIN index finds
  // a window's blocks for almost nothing on the ingestion path (a B-tree would cost every insert).
  await sql`create index events_received_brin on events using brin (received_at)`.execute(db);
  await db.schema.createIndex('tasks_started_idx').on('tasks').columns(['type', 'started_at']).where(sql.ref('started_at'), 'is not', null).execute();
  await db.schema.createIndex('tasks_finished_idx').on('tasks').columns(['type', 'finished_at']).where(sql.ref('finished_at'), 'is not', null).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('tasks_finished_idx').execute();
  await db.schema.dropIndex('tasks_started_idx').execute();
  await db.schema.dropIndex('events_received_brin').execute();
}
