import { randomBytes } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { Database } from './database.js';
import type {
  ActivationChange,
  ActivationReason,
  ActivationRecord,
  ArmSnapshot,
  ChallengeRecord,
  JsonObject,
  ModelActivationRow,
  ModelKind,
  ModelOnlineRow,
  ModelRow,
  ModelStatus,
  StoredMetrics,
  Tables,
} from './schema.js';

/** LISTEN/NOTIFY channel: the serving models (champion or challenger) changed. */
export const MODEL_CHANGES = 'models';
/** An advisory lock's name, taken per schema: deployments sharing a database never wait on each other. */
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
  /** The new version's status: `active` when activated, `challenger`, else `standby` or `rejected`. */
  status: ModelStatus;
  /** Stored with the model to show why. */
  record: ActivationRecord | null;
}

/** An entry of the activation history, with both versions' numbers. */
export interface ActivationEntry extends ModelActivationRow {
  version: number;
  previous_version: number | null;
}

/** Who asked for an activation and why, for the history. */
export interface ActivationRequestor {
  actor: string;
  note: string | null;
}

/** The online test's verdict on a challenger, with its figures, as ml/online-test computes them. */
export interface ChallengeVerdict {
  decision: 'promoted' | 'retired';
  champion: ArmSnapshot;
  challenger: ArmSnapshot;
  difference: number | null;
  likelihood_ratio: number | null;
  threshold: number;
}

/** A version's online sums; zeros for one that ranked no task yet. */
export function onlineOf(rows: ReadonlyMap<string, ModelOnlineRow>, modelId: string): ModelOnlineRow {
  return rows.get(modelId) ?? { model_id: modelId, tasks: '0', feedback: '0', selections: '0', hits: '0', reciprocal_rank_sum: 0, reciprocal_rank_sq_sum: 0 };
}

/** The sums of reciprocal ranks the online test compares. */
export function armOf(row: ModelOnlineRow): ArmSnapshot {
  return { feedback: Number(row.feedback), reciprocal_rank_sum: row.reciprocal_rank_sum, reciprocal_rank_sq_sum: row.reciprocal_rank_sq_sum };
}

/** `now` minus `baseline`: a side's sums since a test began. */
export function since(now: ArmSnapshot, baseline: ArmSnapshot): ArmSnapshot {
  return {
    feedback: now.feedback - baseline.feedback,
    reciprocal_rank_sum: now.reciprocal_rank_sum - baseline.reciprocal_rank_sum,
    reciprocal_rank_sq_sum: now.reciprocal_rank_sq_sum - baseline.reciprocal_rank_sq_sum,
  };
}

const mrrOf = (arm: ArmSnapshot) => (arm.feedback === 0 ? null : arm.reciprocal_rank_sum / arm.feedback);

/** The figures of a manual activation: both versions' online figures at that moment. */
function onlineFigures(online: ReadonlyMap<string, ModelOnlineRow>, modelId: string, previousId: string | undefined): Record<string, number | null> {
  const figures = (row: ModelOnlineRow) => {
    const feedback = Number(row.feedback);
    return { feedback, selection_rate: feedback === 0 ? null : Number(row.selections) / feedback, mrr: feedback === 0 ? null : row.reciprocal_rank_sum / feedback };
  };
  const next = figures(onlineOf(online, modelId));
  const before = previousId === undefined ? undefined : figures(onlineOf(online, previousId));
  return {
    online_feedback: next.feedback,
    online_selection_rate: next.selection_rate,
    online_mrr: next.mrr,
    ...(before ? { previous_online_feedback: before.feedback, previous_online_selection_rate: before.selection_rate, previous_online_mrr: before.mrr } : {}),
  };
}

/** The figures of a test's verdict, for the history. */
function verdictFigures(verdict: ChallengeVerdict): Record<string, number | null> {
  return {
    challenger_feedback: verdict.challenger.feedback,
    challenger_mrr: mrrOf(verdict.challenger),
    champion_feedback: verdict.champion.feedback,
    champion_mrr: mrrOf(verdict.champion),
    difference: verdict.difference,
    likelihood_ratio: verdict.likelihood_ratio,
    threshold: verdict.threshold,
  };
}

export function newModelId(): string {
  return `mdl_${randomBytes(8).toString('hex')}`;
}

type Trx = Transaction<Tables>;

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

  /** The challenger, while one runs. */
  async challenger(): Promise<ModelRow | undefined> {
    return this.db.selectFrom('models').selectAll().where('status', '=', 'challenger').executeTakeFirst();
  }

  async get(modelId: string): Promise<ModelRow | undefined> {
    return this.db.selectFrom('models').selectAll().where('model_id', '=', modelId).executeTakeFirst();
  }

  /** The online sums of the given versions (a version without any task has none: see onlineOf). */
  async online(modelIds: readonly string[], trx: Trx | undefined = undefined): Promise<Map<string, ModelOnlineRow>> {
    if (modelIds.length === 0) return new Map();
    const rows = await (trx ?? this.db).selectFrom('model_online').selectAll().where('model_id', 'in', [...modelIds]).execute();
    return new Map(rows.map((row) => [row.model_id, row]));
  }

  /** Every version's number with its online sums, for /metrics: one row per version. */
  async onlineByVersion(): Promise<(ModelOnlineRow & { version: number })[]> {
    const rows = await this.db.selectFrom('models').select(['model_id', 'version']).orderBy('version').execute();
    const online = await this.online(rows.map((row) => row.model_id));
    return rows.map((row) => ({ ...onlineOf(online, row.model_id), version: row.version }));
  }

  /**
   * Labels so far (answers recorded on tasks, summed over the versions that ranked them) and the
   * labels the newest version was trained on: one row per version, not per task.
   */
  async labelCounts(): Promise<{ labels: number; newestLabelsUsed: number; newestCreatedAt: Date }> {
    const [answers, newest] = await Promise.all([
      this.db.selectFrom('model_online').select((eb) => eb.fn.coalesce(eb.fn.sum<string>('feedback'), sql<string>`0`).as('labels')).executeTakeFirstOrThrow(),
      this.db.selectFrom('models').select(['labels_used', 'created_at']).orderBy('version', 'desc').limit(1).executeTakeFirst(),
    ]);
    return { labels: Number(answers.labels), newestLabelsUsed: newest?.labels_used ?? 0, newestCreatedAt: newest?.created_at ?? new Date(0) };
  }

  /** The activation history, newest first, before `beforeId` when given. */
  async activations(limit: number, beforeId: string | undefined): Promise<ActivationEntry[]> {
    let query = this.db
      .selectFrom('model_activations as a')
      .innerJoin('models as m', 'm.model_id', 'a.model_id')
      .leftJoin('models as p', 'p.model_id', 'a.previous_model_id')
      .selectAll('a')
      .select(['m.version as version', 'p.version as previous_version'])
      .orderBy('a.activation_id', 'desc')
      .limit(limit);
    if (beforeId !== undefined) query = query.where('a.activation_id', '<', beforeId);
    return query.execute();
  }

  private async recordActivation(
    trx: Trx,
    entry: {
      modelId: string;
      previousModelId: string | null;
      change: ActivationChange;
      actor: string;
      reason: ActivationReason;
      note: string | null;
      figures: Record<string, number | null>;
    },
  ): Promise<void> {
    await trx
      .insertInto('model_activations')
      .values({
        model_id: entry.modelId,
        previous_model_id: entry.previousModelId,
        change: entry.change,
        actor: entry.actor,
        reason: entry.reason,
        note: entry.note,
        figures: JSON.stringify(entry.figures),
      })
      .execute();
  }

  async list(limit: number, beforeVersion: number | undefined): Promise<ModelRow[]> {
    let query = this.db.selectFrom('models').selectAll().orderBy('version', 'desc').limit(limit);
    if (beforeVersion !== undefined) query = query.where('version', '<', beforeVersion);
    return query.execute();
  }

  private lock(trx: Trx) {
    return sql`select pg_advisory_xact_lock(hashtext(current_schema() || ':' || ${MODELS_LOCK}))`.execute(trx);
  }

  /** Creates version 1 and makes it active, unless a model exists (first start, any number of processes). */
  async ensureInitial(model: NewModelVersion): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await this.lock(trx);
      if (await trx.selectFrom('models').select('model_id').limit(1).executeTakeFirst()) return false;
      const modelId = newModelId();
      await trx
        .insertInto('models')
        .values({
          model_id: modelId,
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
      await this.recordActivation(trx, { modelId, previousModelId: null, change: 'activated', actor: 'auto', reason: 'initial', note: null, figures: {} });
      await this.notifyChanged().execute(trx);
      return true;
    });
  }

  /**
   * Stores a newly trained version and, as `decide` says given the model active at that moment,
   * makes it the active one or the challenger (a running challenger then retires), all in one
   * transaction.
   */
  async addVersion(model: NewModelVersion, decide: (active: ModelRow | undefined) => ActivationDecision): Promise<ModelRow> {
    return this.db.transaction().execute(async (trx) => {
      await this.lock(trx);
      const active = await trx.selectFrom('models').selectAll().where('active', '=', true).executeTakeFirst();
      const { max } = await trx.selectFrom('models').select((eb) => eb.fn.max('version').as('max')).executeTakeFirstOrThrow();
      const decision = decide(active);
      const challenging = decision.status === 'challenger' && active !== undefined;
      const modelId = newModelId();
      if (decision.activate || challenging) await this.endChallenge(trx, 'retired', 'auto', decision.activate ? 'a newer version was activated' : 'a newer challenger replaced it');
      if (decision.activate && active) {
        await trx.updateTable('models').set({ active: false, status: 'standby' }).where('model_id', '=', active.model_id).execute();
      }
      let challenge: ChallengeRecord | null = null;
      if (challenging) {
        const baseline = armOf(onlineOf(await this.online([active.model_id], trx), active.model_id));
        challenge = { champion_model_id: active.model_id, started_at: new Date().toISOString(), champion_baseline: baseline, result: null };
      }
      const row = await trx
        .insertInto('models')
        .values({
          model_id: modelId,
          version: Number(max ?? 0) + 1,
          kind: model.kind,
          // A challenger needs a champion to run beside; without one (never after start-up) it waits on standby.
          status: challenging ? 'challenger' : decision.status === 'challenger' ? 'standby' : decision.status,
          active: decision.activate,
          artifact: JSON.stringify(model.artifact),
          metrics: model.metrics === null ? null : JSON.stringify(model.metrics),
          activation: decision.record === null ? null : JSON.stringify(decision.record),
          challenge: challenge === null ? null : JSON.stringify(challenge),
          training_task_id: model.trainingTaskId,
          labels_used: model.labelsUsed,
          activated_at: decision.activate ? sql<Date>`now()` : null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      if (decision.activate || challenging) {
        const record = decision.record;
        await this.recordActivation(trx, {
          modelId: row.model_id,
          previousModelId: active?.model_id ?? null,
          change: challenging ? 'challenger_started' : 'activated',
          actor: 'auto',
          reason: 'offline',
          note: record ? `AUTO_ACTIVATE=${record.policy}: hold-out ${record.metric.toUpperCase()} ${figure(record.new_value)} against ${figure(record.previous_value)}` : null,
          figures: record ? { new_auc: record.new_value, previous_auc: record.previous_value } : {},
        });
        await this.notifyChanged().execute(trx);
      }
      return row;
    });
  }

  /**
   * Ends a running challenge (if any) without the test: the challenger retires, or is promoted
   * when a manual activation chose it. Records the change; the caller holds the lock.
   */
  private async endChallenge(trx: Trx, decision: 'promoted' | 'retired', actor: string, note: string): Promise<ModelRow | undefined> {
    const challenger = await trx.selectFrom('models').selectAll().where('status', '=', 'challenger').executeTakeFirst();
    if (!challenger?.challenge) return undefined;
    const verdict = await this.currentVerdict(trx, challenger.model_id, challenger.challenge, decision);
    await this.closeChallenge(trx, challenger, challenger.challenge, verdict, { actor, reason: actor === 'auto' ? 'offline' : 'manual', note });
    return challenger;
  }

  /** Both sides' sums since the challenge began, as they stand, with no test figures. */
  private async currentVerdict(trx: Trx, challengerId: string, challenge: ChallengeRecord, decision: 'promoted' | 'retired'): Promise<ChallengeVerdict> {
    const online = await this.online([challengerId, challenge.champion_model_id], trx);
    return {
      decision,
      champion: since(armOf(onlineOf(online, challenge.champion_model_id)), challenge.champion_baseline),
      challenger: armOf(onlineOf(online, challengerId)),
      difference: null,
      likelihood_ratio: null,
      threshold: 0,
    };
  }

  private async closeChallenge(
    trx: Trx,
    challenger: ModelRow,
    challenge: ChallengeRecord,
    verdict: ChallengeVerdict,
    why: { actor: string; reason: ActivationReason; note: string | null },
  ): Promise<ModelRow> {
    const result: ChallengeRecord['result'] = {
      decision: verdict.decision,
      decided_at: new Date().toISOString(),
      champion: verdict.champion,
      challenger: verdict.challenger,
      difference: verdict.difference,
      likelihood_ratio: verdict.likelihood_ratio,
      threshold: verdict.threshold,
      note: why.reason === 'online' ? null : why.note,
    };
    const promoted = verdict.decision === 'promoted';
    if (promoted) await trx.updateTable('models').set({ active: false, status: 'standby' }).where('active', '=', true).execute();
    const row = await trx
      .updateTable('models')
      .set({
        status: promoted ? 'active' : 'retired',
        active: promoted,
        ...(promoted ? { activated_at: sql<Date>`now()` } : {}),
        challenge: JSON.stringify({ ...challenge, result }),
      })
      .where('model_id', '=', challenger.model_id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await this.recordActivation(trx, {
      modelId: challenger.model_id,
      previousModelId: challenge.champion_model_id,
      change: verdict.decision,
      actor: why.actor,
      reason: why.reason,
      note: why.note,
      figures: why.reason === 'online' ? verdictFigures(verdict) : { challenger_feedback: verdict.challenger.feedback, challenger_mrr: mrrOf(verdict.challenger), champion_feedback: verdict.champion.feedback, champion_mrr: mrrOf(verdict.champion) },
    });
    await this.notifyChanged().execute(trx);
    return row;
  }

  /**
   * The online test's verdict on the challenger: promoted (it becomes the champion) or retired, in
   * one transaction with the history entry. `judge` gets both sides' sums since the challenge
   * began and answers undefined while the test runs; nothing changes then, or when `challengerId`
   * is no longer the challenger (another process decided first).
   */
  async judgeChallenger(challengerId: string, judge: (champion: ArmSnapshot, challenger: ArmSnapshot) => ChallengeVerdict | undefined): Promise<ModelRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await this.lock(trx);
      const challenger = await trx.selectFrom('models').selectAll().where('model_id', '=', challengerId).where('status', '=', 'challenger').executeTakeFirst();
      if (!challenger?.challenge) return undefined;
      const sides = await this.currentVerdict(trx, challengerId, challenger.challenge, 'retired');
      const verdict = judge(sides.champion, sides.challenger);
      if (!verdict) return undefined;
      const note = `online test: MRR ${figure(mrrOf(verdict.challenger))} (${verdict.challenger.feedback} answers) against ${figure(mrrOf(verdict.champion))} (${verdict.champion.feedback}), likelihood ratio ${figure(verdict.likelihood_ratio)} / ${verdict.threshold}`;
      return this.closeChallenge(trx, challenger, challenger.challenge, verdict, { actor: 'auto', reason: 'online', note });
    });
  }

  /**
   * Makes the model the active one: one transaction, so every new task sees exactly one, and the
   * change is in the history with who asked, why, and both versions' online figures. A running
   * challenge ends (the challenger is promoted if it is the one activated, else retired).
   * Activating the active model changes and records nothing.
   */
  async activate(modelId: string, requestor: ActivationRequestor): Promise<ModelRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await this.lock(trx);
      const target = await trx.selectFrom('models').selectAll().where('model_id', '=', modelId).executeTakeFirst();
      if (!target) return undefined;
      if (target.active) return target;
      const note = requestor.note ?? 'manual activation';
      if (target.status === 'challenger') {
        await this.endChallenge(trx, 'promoted', requestor.actor, note);
        return trx.selectFrom('models').selectAll().where('model_id', '=', modelId).executeTakeFirstOrThrow();
      }
      await this.endChallenge(trx, 'retired', requestor.actor, `ended by the manual activation of ${modelId}`);
      const previous = await trx.selectFrom('models').select('model_id').where('active', '=', true).executeTakeFirst();
      const ids = previous ? [modelId, previous.model_id] : [modelId];
      await this.recordActivation(trx, {
        modelId,
        previousModelId: previous?.model_id ?? null,
        change: 'activated',
        actor: requestor.actor,
        reason: 'manual',
        note: requestor.note,
        figures: onlineFigures(await this.online(ids, trx), modelId, previous?.model_id),
      });
      await trx.updateTable('models').set({ active: false, status: 'standby' }).where('active', '=', true).execute();
      const row = await trx
        .updateTable('models')
        .set({ active: true, status: 'active', activated_at: sql<Date>`now()` })
        .where('model_id', '=', modelId)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.notifyChanged().execute(trx);
      return row;
    });
  }
}

function figure(value: number | null): string {
  return value === null ? 'none' : Number.isFinite(value) && Math.abs(value) < 1e6 ? value.toFixed(3) : value.toExponential(2);
}
