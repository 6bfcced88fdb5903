import { sql, type Kysely } from 'kysely';

// Frozen in time: this migration must not import application code.
// The learning loop: which results were exploration slots, each version's online figures, a
// challenger beside the champion, and the history of changes of the serving versions.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table models drop constraint models_status_check`.execute(db);
  await sql`alter table models add constraint models_status_check check (status in ('active', 'standby', 'rejected', 'challenger', 'retired'))`.execute(db);
  // At most one challenger at a time, as there is at most one active model.
  await sql`create unique index models_single_challenger on models (status) where status = 'challenger'`.execute(db);
  // A challenger's test: the champion it runs beside, the champion's sums when it began, and the outcome.
  await db.schema.alterTable('models').addColumn('challenge', 'jsonb').execute();

  // Ranks (1-based) of a task's exploration slots; a list of at most EXPLORATION_SLOTS.
  await db.schema.alterTable('task_results').addColumn('exploration_ranks', sql`integer[]`, (col) => col.notNull().defaultTo(sql`'{}'`)).execute();

  // Running sums per version, kept in the transactions that complete tasks and record picks, so
  // reading them costs the same whatever the number of tasks.
  await db.schema
    .createTable('model_online')
    .addColumn('model_id', 'text', (col) => col.primaryKey().references('models.model_id').onDelete('cascade'))
    .addColumn('tasks', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('feedback', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('selections', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('hits', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('reciprocal_rank_sum', sql`double precision`, (col) => col.notNull().defaultTo(0))
    // For the variance the online test needs.
    .addColumn('reciprocal_rank_sq_sum', sql`double precision`, (col) => col.notNull().defaultTo(0))
    .execute();
  await sql`
    insert into model_online (model_id, tasks, feedback, selections, hits, reciprocal_rank_sum, reciprocal_rank_sq_sum)
    select m.model_id,
      (select count(*) from tasks t where t.model_id = m.model_id and t.type = 'inference' and t.status = 'SUCCESS'),
      count(s.task_id),
      count(s.task_id) filter (where s.location_id <> -1),
      count(s.task_id) filter (where s.rank <= 10),
      coalesce(sum(case when s.rank is null then 0 else 1.0 / s.rank end), 0),
      coalesce(sum(case when s.rank is null then 0 else 1.0 / (s.rank * s.rank) end), 0)
    from models m
    left join tasks t on t.model_id = m.model_id and t.type = 'inference'
    left join selections s on s.task_id = t.task_id
    group by m.model_id`.execute(db);

  await db.schema
    .createTable('model_activations')
    .addColumn('activation_id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('model_id', 'text', (col) => col.notNull().references('models.model_id').onDelete('cascade'))
    .addColumn('previous_model_id', 'text', (col) => col.references('models.model_id').onDelete('set null'))
    .addColumn('change', 'text', (col) => col.notNull().check(sql`change in ('activated', 'challenger_started', 'promoted', 'retired')`))
    .addColumn('actor', 'text', (col) => col.notNull())
    .addColumn('reason', 'text', (col) => col.notNull().check(sql`reason in ('initial', 'offline', 'online', 'manual')`))
    .addColumn('note', 'text')
    .addColumn('figures', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('activated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  // What was serving before this migration is its first entry.
  await sql`
    insert into model_activations (model_id, change, actor, reason, note, activated_at)
    select model_id, 'activated', 'auto', case when version = 1 then 'initial' else 'manual' end,
      'serving when the activation history began', coalesce(activated_at, created_at)
    from models where active`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('model_activations').execute();
  await db.schema.dropTable('model_online').execute();
  await db.schema.alterTable('task_results').dropColumn('exploration_ranks').execute();
  await db.schema.alterTable('models').dropColumn('challenge').execute();
  await sql`drop index models_single_challenger`.execute(db);
  // The older schema knows neither status: a challenger or retired version is on standby there.
  await sql`update models set status = 'standby' where status in ('challenger', 'retired')`.execute(db);
  await sql`alter table models drop constraint models_status_check`.execute(db);
  await sql`alter table models add constraint models_status_check check (status in ('active', 'standby', 'rejected'))`.execute(db);
}
