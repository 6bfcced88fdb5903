import type { SchemaLocationData, SchemaModelMetrics, SchemaUserFields } from '../generated/api.js';

/**
 * The recommender's data, as seed 003 defines it (UserData and LocationData). Field names and
 * meanings are the seed's; the ML code works on these plain shapes, not on database rows.
 */

/** A search: who travels and what they wish for (the spec's UserFields without the name and date). */
export type UserProfile = Omit<SchemaUserFields, 'name' | 'time_arrival'>;

/** A location of the catalogue (the spec's LocationData). */
export type LocationFeatures = SchemaLocationData;

/** One labelled pair for training: did this user pick this shown location? */
export interface TrainingExample {
  user: UserProfile;
  location: LocationFeatures;
  label: 0 | 1;
  /**
   * The search (one shown list) the example belongs to. With groups, training fits a choice model
   * over each list (see TrainingOptions.objective); without, each example stands alone.
   */
  group?: number;
}

/** Hold-out metrics of a model (the spec's ModelMetrics). */
export type ModelMetrics = SchemaModelMetrics;

/**
 * A trained (or hand-set) model as stored and served: everything needed to score, with no code.
 * The artifact is plain JSON (GET /models/{model_id}/artifact).
 */
export interface ModelArtifact {
  format: 'portico-ranker/1';
  /** Feature names, in the order of `weights` (and of each hidden unit's weights). */
  features: string[];
  /** Min-max scaling fitted on the training set: x' = (x - min) / (max - min), 0 where max = min. */
  scaling: { min: number[]; max: number[] };
  /** Optional hidden layer (ReLU): one weight vector and bias per unit. Absent for logistic regression. */
  hidden?: { weights: number[][]; biases: number[] };
  /** Output layer: one weight per feature (or per hidden unit) and a bias; score = sigmoid(w·x + b). */
  weights: number[];
  bias: number;
  metadata: Record<string, unknown>;
}

export interface TrainingOptions {
  epochs: number;
  learning_rate: number;
  seed: number;
  holdout_fraction: number;
  batch_size?: number;
  /** Units of the ReLU hidden layer; 0 (or absent) trains logistic regression. */
  hidden_units?: number;
  /** L2 penalty on the weights (not the biases), added to the mean loss of each batch. */
  l2?: number;
  /**
   * `choice` (the default when every example has a group): a multinomial logit over each shown
   * list plus a "picked nothing" option of utility 0, which is how a traveller chooses; `pointwise`:
   * binary cross-entropy on each example alone, class-balanced.
   */
  objective?: 'choice' | 'pointwise';
}
