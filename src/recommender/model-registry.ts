import type { Notifications } from '../db/notifications.js';
import { MODEL_CHANGES, type ModelRepository } from '../db/models.js';
import { followChannel } from '../db/subscription.js';
import { parseArtifact } from '../ml/artifact.js';
import type { ModelArtifact } from '../ml/types.js';

export interface ModelRef {
  id: string;
  version: number;
}

/**
 * Which model is active (cached until any process switches models, via LISTEN/NOTIFY) and each
 * model's artifact (immutable once stored, so cached for good).
 */
export class ModelRegistry {
  private activeModel: Promise<ModelRef> | undefined;
  private readonly artifacts = new Map<string, Promise<ModelArtifact>>();
  private unfollow: (() => Promise<void>) | undefined;

  constructor(
    private readonly models: ModelRepository,
    private readonly notifications: Notifications,
  ) {}

  async start(): Promise<void> {
    this.unfollow = await followChannel(this.notifications, MODEL_CHANGES, () => (this.activeModel = undefined));
  }

  async stop(): Promise<void> {
    await this.unfollow?.();
  }

  active(): Promise<ModelRef> {
    if (!this.activeModel) {
      const loading = this.models.active().then((row) => {
        if (!row) throw new Error('No model is active; the service bootstrap creates version 1');
        return { id: row.model_id, version: row.version };
      });
      loading.catch(() => {
        if (this.activeModel === loading) this.activeModel = undefined;
      });
      this.activeModel = loading;
    }
    return this.activeModel;
  }

  artifact(modelId: string): Promise<ModelArtifact> {
    let artifact = this.artifacts.get(modelId);
    if (!artifact) {
      artifact = this.models.get(modelId).then((row) => {
        if (!row) throw new Error(`Model ${modelId} does not exist`);
        return parseArtifact(row.artifact);
      });
      artifact.catch(() => this.artifacts.delete(modelId));
      this.artifacts.set(modelId, artifact);
    }
    return artifact;
  }
}
