import { armOf, onlineOf, since, type ActivationEntry } from '../db/models.js';
import { ONLINE_HIT_K } from '../db/results.js';
import type { ArmSnapshot, ModelOnlineRow, ModelRow } from '../db/schema.js';
import type { SchemaModel, SchemaModelActivationEvent, SchemaModelOnline, SchemaOnlineTest } from '../generated/api.js';
import { onlineTest } from '../ml/online-test.js';

export function toModelOnline(row: ModelOnlineRow): SchemaModelOnline {
  const feedback = Number(row.feedback);
  const share = (value: number) => (feedback === 0 ? null : value / feedback);
  return {
    tasks: Number(row.tasks),
    feedback,
    selections: Number(row.selections),
    selection_rate: share(Number(row.selections)),
    k: ONLINE_HIT_K,
    hit_rate_at_k: share(Number(row.hits)),
    mrr: share(row.reciprocal_rank_sum),
  };
}

const arm = (modelId: string, sums: ArmSnapshot) => ({ model_id: modelId, feedback: sums.feedback, mrr: sums.feedback === 0 ? null : sums.reciprocal_rank_sum / sums.feedback });
const asSums = (sums: ArmSnapshot) => ({ n: sums.feedback, sum: sums.reciprocal_rank_sum, sumSquares: sums.reciprocal_rank_sq_sum });

/**
 * A challenger's test: its stored outcome once decided, else where it stands now, from the
 * current online sums (`online` must hold the challenger's and its champion's).
 */
export function toOnlineTest(row: ModelRow, online: ReadonlyMap<string, ModelOnlineRow>): SchemaOnlineTest | null {
  const challenge = row.challenge;
  if (!challenge) return null;
  const base = { started_at: challenge.started_at };
  if (challenge.result) {
    const { result } = challenge;
    return {
      ...base,
      champion: arm(challenge.champion_model_id, result.champion),
      challenger: arm(row.model_id, result.challenger),
      difference: result.difference,
      likelihood_ratio: result.likelihood_ratio,
      threshold: result.threshold,
      decision: result.decision,
      decided_at: result.decided_at,
    };
  }
  const champion = since(armOf(onlineOf(online, challenge.champion_model_id)), challenge.champion_baseline);
  const challenger = armOf(onlineOf(online, row.model_id));
  const test = onlineTest(asSums(champion), asSums(challenger));
  return {
    ...base,
    champion: arm(challenge.champion_model_id, champion),
    challenger: arm(row.model_id, challenger),
    difference: test.difference,
    likelihood_ratio: test.likelihoodRatio,
    threshold: test.threshold,
    // Decided only once recorded (after the next answer): until then it is still running.
    decision: 'running',
    decided_at: null,
  };
}

/** `online` must hold the version's sums, and for a challenger its champion's (see toOnlineTest). */
export function toModel(row: ModelRow, online: ReadonlyMap<string, ModelOnlineRow>): SchemaModel {
  return {
    model_id: row.model_id,
    version: row.version,
    kind: row.kind,
    status: row.status,
    active: row.active,
    created_at: row.created_at.toISOString(),
    activated_at: row.activated_at?.toISOString() ?? null,
    training_task_id: row.training_task_id,
    labels_used: row.labels_used,
    metrics: row.metrics,
    activation: row.activation,
    online: toModelOnline(onlineOf(online, row.model_id)),
    online_test: toOnlineTest(row, online),
  };
}

export function toModelActivation(row: ActivationEntry): SchemaModelActivationEvent {
  return {
    activation_id: Number(row.activation_id),
    model_id: row.model_id,
    version: row.version,
    previous_model_id: row.previous_model_id,
    previous_version: row.previous_version,
    change: row.change,
    actor: row.actor,
    reason: row.reason,
    note: row.note,
    figures: row.figures,
    activated_at: row.activated_at.toISOString(),
  };
}
