import type { Notifications } from '../db/notifications.js';
import { MODEL_CHANGES, type ModelRepository } from '../db/models.js';
import type { ModelRow } from '../db/schema.js';
import { followChannel } from '../db/subscription.js';
import { parseArtifact } from '../ml/artifact.js';
import type { ModelArtifact } from '../ml/types.js';

export interface ModelRef {
  id: string;
  version: number;
  /** Labelled tasks it was trained on: how much evidence it ranks with (exploration fades with it). */
  labelsUsed: number;
}

export interface ServingModels {
  champion: ModelRef;
  challenger: ModelRef | undefined;
}

/**
 * Which models serve, the champion and a challenger while one runs (cached until any process
 * changes them, via LISTEN/NOTIFY), and each model's artifact (immutable once stored, so cached
 * for good).
 */
export class ModelRegistry {
  private servingModels: Promise<ServingModels> | undefined;
  private readonly artifacts = new Map<string, Promise<{ artifact: ModelArtifact; labelsUsed: number }>>();
  private unfollow: (() => Promise<void>) | undefined;

  constructor(
    private readonly models: ModelRepository,
    private readonly notifications: Notifications,
  ) {}

  async start(): Promise<void> {
    this.unfollow = await followChannel(this.notifications, MODEL_CHANGES, () => (this.servingModels = undefined));
  }

  async stop(): Promise<void> {
    await this.unfollow?.();
  }

  /** The champion (the active model). */
  async active(): Promise<ModelRef> {
    return (await this.serving()).champion;
  }

  /** The champion, and the challenger while one runs. */
  serving(): Promise<ServingModels> {
    if (!this.servingModels) {
      const ref = (row: ModelRow): ModelRef => ({ id: row.model_id, version: row.version, labelsUsed: row.labels_used });
      const loading = Promise.all([this.models.active(), this.models.challenger()]).then(([active, challenger]) => {
        if (!active) throw new Error('No model is active; the service bootstrap creates version 1');
        return { champion: ref(active), challenger: challenger ? ref(challenger) : undefined };
      });
      loading.catch(() => {
        if (this.servingModels === loading) this.servingModels = undefined;
      });
      this.servingModels = loading;
    }
    return this.servingModels;
  }

  /** The model's artifact and the labels it was trained on (both immutable once stored). */
  artifact(modelId: string): Promise<ModelArtifact> {
    return this.model(modelId).then((model) => model.artifact);
  }

  model(modelId: string): Promise<{ artifact: ModelArtifact; labelsUsed: number }> {
    let artifact = this.artifacts.get(modelId);
    if (!artifact) {
      artifact = this.models.get(modelId).then((row) => {
        if (!row) throw new Error(`Model ${modelId} does not exist`);
        return { artifact: parseArtifact(row.artifact), labelsUsed: row.labels_used };
      });
      artifact.catch(() => this.artifacts.delete(modelId));
      this.artifacts.set(modelId, artifact);
    }
    return artifact;
  }
}
