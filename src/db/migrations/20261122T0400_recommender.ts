import { sql, type Kysely } from 'kysely';

// Frozen in time: this migration must not import application code.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('locations')
    .addColumn('location_id', 'integer', (col) => col.primaryKey())
    .addColumn('children', 'boolean', (col) => col.notNull())
    .addColumn('breakfast', 'boolean', (col) => col.notNull())
    .addColumn('lunch', 'boolean', (col) => col.notNull())
    .addColumn('dinner', 'boolean', (col) => col.notNull())
    .addColumn('price', sql`double precision`, (col) => col.notNull())
    .addColumn('has_pool', 'boolean', (col) => col.notNull())
    .addColumn('has_spa', 'boolean', (col) => col.notNull())
    .addColumn('animals', 'boolean', (col) => col.notNull())
    .addColumn('near_lake', 'boolean', (col) => col.notNull())
    .addColumn('near_mountains', 'boolean', (col) => col.notNull())
    .addColumn('has_sport', 'boolean', (col) => col.notNull())
    .addColumn('family_rating', sql`double precision`, (col) => col.notNull())
    .addColumn('outdoor_rating', sql`double precision`, (col) => col.notNull())
    .addColumn('food_rating', sql`double precision`, (col) => col.notNull())
    .addColumn('leisure_rating', sql`double precision`, (col) => col.notNull())
    .addColumn('service_rating', sql`double precision`, (col) => col.notNull())
    .addColumn('user_score', sql`double precision`, (col) => col.notNull())
    // Removed locations stay, so that earlier results can still show them.
    .addColumn('deleted_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('user_data')
    .addColumn('user_id', 'integer', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('owner', 'text', (col) => col.notNull())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('people_num', 'integer', (col) => col.notNull())
    .addColumn('people_age', sql`integer[]`, (col) => col.notNull())
    .addColumn('children_num', 'integer', (col) => col.notNull())
    .addColumn('budget', sql`double precision`, (col) => col.notNull())
    .addColumn('nights', 'integer', (col) => col.notNull())
    .addColumn('time_arrival', 'date', (col) => col.notNull())
    .addColumn('pool', 'boolean', (col) => col.notNull())
    .addColumn('spa', 'boolean', (col) => col.notNull())
    .addColumn('pet_friendly', 'boolean', (col) => col.notNull())
    .addColumn('lake', 'boolean', (col) => col.notNull())
    .addColumn('mountain', 'boolean', (col) => col.notNull())
    .addColumn('sport', 'boolean', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('models')
    .addColumn('model_id', 'text', (col) => col.primaryKey())
    .addColumn('version', 'integer', (col) => col.notNull().unique())
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('active', 'standby', 'rejected')`))
    .addColumn('active', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('artifact', 'jsonb', (col) => col.notNull())
    .addColumn('metrics', 'jsonb')
    .addColumn('activation', 'jsonb')
    .addColumn('training_task_id', 'uuid')
    .addColumn('labels_used', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('activated_at', 'timestamptz')
    .execute();
  // At most one active model: the switch is one transaction flipping two rows.
  await sql`create unique index models_single_active on models (active) where active`.execute(db);

  await db.schema
    .createTable('tasks')
    .addColumn('task_id', 'uuid', (col) => col.primaryKey())
    .addColumn('seq', 'bigint', (col) => col.notNull().unique().generatedAlwaysAsIdentity())
    .addColumn('type', 'text', (col) => col.notNull().check(sql`type in ('inference', 'training')`))
    .addColumn('owner', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) =>
      col.notNull().check(sql`status in ('PENDING', 'STARTED', 'RETRY', 'SUCCESS', 'FAILURE', 'REVOKED')`),
    )
    .addColumn('progress', sql`double precision`, (col) => col.notNull().defaultTo(0))
    .addColumn('user_id', 'integer', (col) => col.references('user_data.user_id'))
    .addColumn('params', 'jsonb')
    .addColumn('model_id', 'text', (col) => col.references('models.model_id'))
    .addColumn('model_version', 'integer')
    .addColumn('error', 'text')
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('tasks_owner_idx').on('tasks').columns(['owner', 'type', 'seq desc']).execute();
  await db.schema.createIndex('tasks_type_idx').on('tasks').columns(['type', 'seq desc']).execute();
  await db.schema.createIndex('tasks_status_idx').on('tasks').columns(['type', 'status', 'seq desc']).execute();

  // The ranking of an inference task, compactly: the top locations and their scores, best first.
  await db.schema
    .createTable('task_results')
    .addColumn('task_id', 'uuid', (col) => col.primaryKey().references('tasks.task_id').onDelete('cascade'))
    .addColumn('location_ids', sql`integer[]`, (col) => col.notNull())
    .addColumn('scores', sql`double precision[]`, (col) => col.notNull())
    // Results are always returned best first, so "shown" is a prefix of the ranking.
    .addColumn('shown_count', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('selections')
    .addColumn('task_id', 'uuid', (col) => col.primaryKey().references('tasks.task_id').onDelete('cascade'))
    .addColumn('owner', 'text', (col) => col.notNull())
    .addColumn('location_id', 'integer', (col) => col.notNull())
    .addColumn('rank', 'integer')
    .addColumn('selected_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  // Every status change of a task, in order: the durable source of its event stream.
  await db.schema
    .createTable('task_events')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('task_id', 'uuid', (col) => col.notNull().references('tasks.task_id').onDelete('cascade'))
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('progress', sql`double precision`, (col) => col.notNull())
    .addColumn('data', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('task_events_task_idx').on('task_events').columns(['task_id', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['task_events', 'selections', 'task_results', 'tasks', 'models', 'user_data', 'locations']) {
    await db.schema.dropTable(table).execute();
  }
}
