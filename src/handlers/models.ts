import type { ModelRepository } from '../db/models.js';
import type { ModelRow } from '../db/schema.js';
import type { SchemaModel, SchemaModelMetrics } from '../generated/api.js';
import { CURSOR_VALUE, decodeCursor, encodeCursor } from '../http/cursor.js';
import type { Handlers, Reply } from '../http/operations.js';
import { ProblemError } from '../http/problem.js';
import { parseArtifact } from '../ml/artifact.js';

export function modelMetrics(row: ModelRow): SchemaModelMetrics | null {
  return row.metrics;
}

export function toModel(row: ModelRow): SchemaModel {
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
    metrics: modelMetrics(row),
    activation: row.activation,
  };
}

export function modelHandlers(models: ModelRepository) {
  const find = async (modelId: string) => {
    const row = await models.get(modelId);
    if (!row) throw ProblemError.notFound(`No model with model_id "${modelId}" exists.`);
    return row;
  };

  return {
    listModels: async ({ query }): Promise<Reply<'listModels'>> => {
      const limit = query.limit ?? 50;
      const cursor = decodeCursor(query.cursor, { v: CURSOR_VALUE.int4 });
      const rows = await models.list(limit + 1, cursor ? Number(cursor.v) : undefined);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        status: 200,
        body: { items: page.map(toModel), next_cursor: rows.length > limit && last ? encodeCursor({ v: String(last.version) }) : null },
      };
    },

    getModel: async ({ path }): Promise<Reply<'getModel'>> => ({ status: 200, body: toModel(await find(path.model_id)) }),

    activateModel: async ({ path }): Promise<Reply<'activateModel'>> => {
      const row = await models.activate(path.model_id);
      if (!row) throw ProblemError.notFound(`No model with model_id "${path.model_id}" exists.`);
      return { status: 200, body: toModel(row) };
    },

    getModelArtifact: async ({ path }): Promise<Reply<'getModelArtifact'>> => {
      const row = await find(path.model_id);
      return {
        status: 200,
        headers: { 'Content-Disposition': `attachment; filename="portico-model-v${row.version}.json"` },
        body: parseArtifact(row.artifact),
      };
    },
  } satisfies Handlers;
}
