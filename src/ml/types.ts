/**
 * The recommender's data, as seed 003 defines it (UserData and LocationData). Field names and
 * meanings are the seed's; the ML code works on these plain shapes, not on database rows.
 */

/** A search: who travels and what they wish for. */
export interface UserProfile {
  people_num: number;
  /** One age per person. */
  people_age: number[];
  children_num: number;
  /** Budget, compared with a location's price. */
  budget: number;
  nights: number;
  /** Wishes. */
  pool: boolean;
  spa: boolean;
  pet_friendly: boolean;
  lake: boolean;
  mountain: boolean;
  sport: boolean;
}

/** A location of the catalogue. */
export interface LocationFeatures {
  location_id: number;
  /** Suitable for children. */
  children: boolean;
  breakfast: boolean;
  lunch: boolean;
  dinner: boolean;
  price: number;
  has_pool: boolean;
  has_spa: boolean;
  /** Pets allowed. */
  animals: boolean;
  near_lake: boolean;
  near_mountains: boolean;
  has_sport: boolean;
  family_rating: number;
  outdoor_rating: number;
  food_rating: number;
  leisure_rating: number;
  service_rating: number;
  user_score: number;
}

/** One labelled pair for training: did this user pick this shown location? */
export interface TrainingExample {
  user: UserProfile;
  location: LocationFeatures;
  label: 0 | 1;
}

/** Hold-out metrics of a model. */
export interface ModelMetrics {
  auc: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  log_loss: number;
  /** Examples in the hold-out set, and how many were positive. */
  holdout_examples: number;
  holdout_positives: number;
}

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
}
