import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Database } from './database.js';
import type { ActivationRecord, JsonObject, ModelKind, ModelRow, ModelStatus, StoredMetrics } from './schema.js';

/** LISTEN/NOTIFY channel: the active model changed. */
export const MODEL_CHANGES = 'models';
const MODELS_LOCK = 'portico.models';

export interface NewModelVersion {
  kind: ModelKind;
  artifact: JsonObject;
  metrics: StoredMetrics | null;
  trainingTaskId: string | null;
  labelsUsed: number;
}

export interface ActivationDecision {
  activate: boolean;
  /** The new version's status: `active` when activated, else `standby` or `rejected`. */
  status: ModelStatus;
  /** Stored with the model to show why. */
  record: ActivationRecord | null;
}

export function newModelId(): string {
  return `mdl_${randomBytes(8).toString('hex')}`;
}

export class ModelRepository {
  constructor(private readonly database: Database) {}

  private get db() {
    return this.database.db;
  }

  private notifyChanged() {
    return sql`select pg_notify(${this.database.notifications.channel(MODEL_CHANGES)}, '')`;
  }

  async active(): Promise<ModelRow | undefined> {
    return this.db.selectFrom('models').selectAll().where('active', '=', true).executeTakeFirst();
  }

  async get(modelId: string): Promise<ModelRow | undefined> {
    return this.db.selectFrom('models').selectAll().where('model_id', '=', modelId).executeTakeFirst();
  }

  async list(limit: number, beforeVersion: number | undefined): Promise<ModelRow[]> {
    let query = this.db.selectFrom('models').selectAll().orderBy('version', 'desc').limit(limit);
    if (beforeVersion !== undefined) query = query.where('version', '<', beforeVersion);
    return query.execute();
  }

  /** Creates version 1 and makes it active, unless a model exists (first start, any number of processes). */
  async ensureInitial(model: NewModelVersion): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(${MODELS_LOCK}))`.execute(trx);
      if (await trx.selectFrom('models').select('model_id').limit(1).executeTakeFirst()) return false;
      await trx
        .insertInto('models')
        .values({
          model_id: newModelId(),
          version: 1,
          kind: model.kind,
          status: 'active',
          active: true,
          artifact: JSON.stringify(model.artifact),
          metrics: model.metrics === null ? null : JSON.stringify(model.metrics),
          activation: null,
          training_task_id: null,
          labels_used: 0,
          activated_at: sql<Date>`now()`,
        })
        .execute();
      await this.notifyChanged().execute(trx);
      return true;
    });
  }

  /**
   * Stores a newly trained version and, if `decide` says so given the model active at that moment,
   * makes it the active one, all in one transaction.
   */
  async addVersion(model: NewModelVersion, decide: (active: ModelRow | undefined) => ActivationDecision): Promise<ModelRow> {
    return this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(${MODELS_LOCK}))`.execute(trx);
      const active = await trx.selectFrom('models').selectAll().where('active', '=', true).executeTakeFirst();
      const { max } = await trx.selectFrom('models').select((eb) => eb.fn.max('version').as('max')).executeTakeFirstOrThrow();
      const decision = decide(active);
      if (decision.activate && active) {
        await trx.updateTable('models').set({ active: false, status: 'standby' }).where('model_id', '=', active.model_id).execute();
      }
      const row = await trx
        .insertInto('models')
        .values({
          model_id: newModelId(),
          version: Number(max ?? 0) + 1,
          kind: model.kind,
          status: decision.status,
          active: decision.activate,
          artifact: JSON.stringify(model.artifact),
          metrics: model.metrics === null ? null : JSON.stringify(model.metrics),
          activation: decision.record === null ? null : JSON.stringify(decision.record),
          training_task_id: model.trainingTaskId,
          labels_used: model.labelsUsed,
          activated_at: decision.activate ? sql<Date>`now()` : null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      if (decision.activate) await this.notifyChanged().execute(trx);
      return row;
    });
  }

  /** Makes the model the active one: one transaction, so every new task sees exactly one. */
  async activate(modelId: string): Promise<ModelRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(${MODELS_LOCK}))`.execute(trx);
      const target = await trx.selectFrom('models').select('model_id').where('model_id', '=', modelId).executeTakeFirst();
      if (!target) return undefined;
      await trx.updateTable('models').set({ active: false, status: 'standby' }).where('active', '=', true).where('model_id', '!=', modelId).execute();
      const row = await trx
        .updateTable('models')
        .set({ active: true, status: 'active', activated_at: sql<Date>`case when active then activated_at else now() end` })
        .where('model_id', '=', modelId)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.notifyChanged().execute(trx);
      return row;
    });
  }
}
