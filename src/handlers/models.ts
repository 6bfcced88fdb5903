import type { ModelRepository } from '../db/models.js';
import type { ModelRow } from '../db/schema.js';
import { CURSOR_VALUE } from '../http/cursor.js';
import { keysetPage } from '../http/pagination.js';
import type { Handlers, Reply } from '../http/operations.js';
import { DomainError } from '../domain/errors.js';
import { parseArtifact } from '../ml/artifact.js';
import { toModel, toModelActivation } from '../presenters/models.js';

export function modelHandlers(models: ModelRepository) {
  const find = async (modelId: string) => {
    const row = await models.get(modelId);
    if (!row) throw DomainError.notFound(`No model with model_id "${modelId}" exists.`);
    return row;
  };
  /** The versions whose online sums presenting these rows needs: each, and a challenger's champion. */
  const onlineFor = (rows: readonly ModelRow[]) => models.online([...new Set(rows.flatMap((row) => [row.model_id, ...(row.challenge ? [row.challenge.champion_model_id] : [])]))]);
  const present = async (row: ModelRow) => toModel(row, await onlineFor([row]));

  return {
    listModels: async ({ query }): Promise<Reply<'listModels'>> => {
      const page = await keysetPage(query, {
        cursor: { v: CURSOR_VALUE.int4 },
        fetch: (after, limit) => models.list(limit, after ? Number(after.v) : undefined),
        position: (row) => ({ v: String(row.version) }),
        present: (row) => row,
      });
      // One read of the online sums for the whole page.
      const online = await onlineFor(page.items);
      return { status: 200, body: { ...page, items: page.items.map((row) => toModel(row, online)) } };
    },

    getModel: async ({ path }): Promise<Reply<'getModel'>> => ({ status: 200, body: await present(await find(path.model_id)) }),

    activateModel: async ({ path, body }, { principal }): Promise<Reply<'activateModel'>> => {
      const row = await models.activate(path.model_id, { actor: principal.keyId, note: body?.reason ?? null });
      if (!row) throw DomainError.notFound(`No model with model_id "${path.model_id}" exists.`);
      return { status: 200, body: await present(row) };
    },

    listModelActivations: async ({ query }): Promise<Reply<'listModelActivations'>> => ({
      status: 200,
      body: await keysetPage(query, {
        cursor: { a: CURSOR_VALUE.int8 },
        fetch: (after, limit) => models.activations(limit, after?.a),
        position: (row) => ({ a: row.activation_id }),
        present: toModelActivation,
      }),
    }),

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
