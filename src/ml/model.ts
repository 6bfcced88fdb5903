import type { Catalogue } from './catalogue.js';
import { catalogueFeatures, exampleFeatures, FEATURE_COUNT, FEATURE_NAMES, type FeatureName } from './features.js';
import { Random } from './random.js';
import type { ModelArtifact, TrainingExample, UserProfile } from './types.js';

export const ARTIFACT_FORMAT = 'portico-ranker/1';

/** An artifact unpacked into typed arrays for scoring. */
interface CompiledModel {
  scaling: ModelArtifact['scaling'];
  /** Row-major, one row of FEATURE_COUNT weights per hidden unit; empty for logistic regression. */
  hiddenWeights: Float64Array;
  hiddenBiases: Float64Array;
  outputWeights: Float64Array;
  outputBias: number;
}

/**
 * Checks the artifact against this code's features and unpacks it. An artifact made for other
 * features cannot be scored meaningfully, so that is an error rather than a silent mismatch.
 */
function compile(artifact: ModelArtifact): CompiledModel {
  if (artifact.format !== ARTIFACT_FORMAT) throw new Error(`unknown model format ${JSON.stringify(artifact.format)}`);
  const expected = FEATURE_NAMES.join(',');
  if (artifact.features.join(',') !== expected) {
    throw new Error('the model was made for other features than this version computes');
  }
  const { min, max } = artifact.scaling;
  if (min.length !== FEATURE_COUNT || max.length !== FEATURE_COUNT) throw new Error(`scaling needs ${FEATURE_COUNT} values`);
  const hiddenUnits = artifact.hidden?.biases.length ?? 0;
  const hiddenRows = artifact.hidden?.weights ?? [];
  if (hiddenRows.length !== hiddenUnits || hiddenRows.some((row) => row.length !== FEATURE_COUNT)) {
    throw new Error(`the hidden layer needs ${hiddenUnits} rows of ${FEATURE_COUNT} weights`);
  }
  const inputs = hiddenUnits > 0 ? hiddenUnits : FEATURE_COUNT;
  if (artifact.weights.length !== inputs) throw new Error(`the output layer needs ${inputs} weights`);
  return {
    scaling: artifact.scaling,
    hiddenWeights: Float64Array.from(hiddenRows.flat()),
    hiddenBiases: Float64Array.from(artifact.hidden?.biases ?? []),
    outputWeights: Float64Array.from(artifact.weights),
    outputBias: artifact.bias,
  };
}

/**
 * Min-max scaling of a row-major feature matrix (rows × FEATURE_COUNT), in place:
 * x' = (x - min) / (max - min), and 0 for a feature that was constant (max = min).
 */
export function scaleFeatures(matrix: Float64Array, { min, max }: ModelArtifact['scaling']): void {
  const offsets = Float64Array.from(min);
  const factors = Float64Array.from(min, (low, j) => {
    const span = (max[j] ?? low) - low;
    return span === 0 ? 0 : 1 / span;
  });
  for (let i = 0; i < matrix.length; i += 1) {
    const j = i % FEATURE_COUNT;
    matrix[i] = ((matrix[i] as number) - (offsets[j] as number)) * (factors[j] as number);
  }
}

/**
 * Probabilities for the rows of a raw feature matrix (rows × FEATURE_COUNT), which is scaled in
 * place: sigmoid(w·x + b), through one ReLU hidden layer when the model has one.
 */
function scoreRows(model: CompiledModel, matrix: Float64Array): Float64Array {
  scaleFeatures(matrix, model.scaling);
  const rows = matrix.length / FEATURE_COUNT;
  const units = model.hiddenBiases.length;
  const hidden = new Float64Array(units);
  const scores = new Float64Array(rows);
  for (let r = 0; r < rows; r += 1) {
    const row = matrix.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT);
    let z = model.outputBias;
    if (units === 0) {
      z += dot(model.outputWeights, 0, row);
    } else {
      for (let h = 0; h < units; h += 1) {
        hidden[h] = Math.max(0, (model.hiddenBiases[h] as number) + dot(model.hiddenWeights, h * FEATURE_COUNT, row));
      }
      z += dot(model.outputWeights, 0, hidden);
    }
    scores[r] = sigmoid(z);
  }
  return scores;
}

/** weights[offset ..] · vector */
function dot(weights: Float64Array, offset: number, vector: Float64Array): number {
  let sum = 0;
  for (let j = 0; j < vector.length; j += 1) sum += (weights[offset + j] as number) * (vector[j] as number);
  return sum;
}

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** The model's probability that the user picks each location, indexed like the catalogue's columns. */
export function scoreCatalogue(artifact: ModelArtifact, user: UserProfile, catalogue: Catalogue): Float64Array {
  return scoreRows(compile(artifact), catalogueFeatures(user, catalogue));
}

/** The model's probability for each example's (user, location) pair. */
export function scoreExamples(artifact: ModelArtifact, examples: readonly TrainingExample[]): Float64Array {
  return scoreRows(compile(artifact), exampleFeatures(examples));
}

export interface RankedLocation {
  location_id: number;
  score: number;
  /** 1 for the first result. */
  rank: number;
  /** Placed by exploration rather than by the model's score. */
  exploration: boolean;
}

export interface RankOptions {
  /**
   * Exploration slots: the last `explorationSlots` of the `limit` results are locations drawn at
   * random from those the model did not already place. A model only learns from what it shows;
   * without these slots, feedback would only ever cover its own favourites. Default 0.
   */
  explorationSlots?: number;
  /**
   * Put the exploration slots at the end of the first `explorationWindow` results (the ones a user
   * is shown) instead of at the end of all `limit`; the rest follow by score. Default: `limit`.
   */
  explorationWindow?: number;
  /** Draws the exploration locations; required when explorationSlots > 0. */
  random?: Random;
}

/**
 * How many exploration slots one task gets: each of `maxSlots` is used with probability
 * min(1, decayLabels / labelsUsed), labelsUsed being the labelled tasks the ranking model learnt
 * from (ε-greedy with ε decaying as 1/n, which still explores forever but ever less). A hand-set
 * model (0 labels) explores in every slot; one trained on 500 labels with decayLabels 25 in one
 * slot of twenty. Exploration buys feedback outside the model's favourites at the price of worse
 * results; once a model has learnt from many labels, that price is no longer worth paying at
 * every search.
 */
export function explorationSlotsFor(maxSlots: number, decayLabels: number, labelsUsed: number, random: Random): number {
  const probability = labelsUsed <= decayLabels ? 1 : decayLabels / labelsUsed;
  let slots = 0;
  for (let slot = 0; slot < maxSlots; slot += 1) if (random.bernoulli(probability)) slots += 1;
  return slots;
}

/**
 * The top `limit` locations for the user, highest score first, ties by location_id; the last
 * `options.explorationSlots` of them chosen at random (see RankOptions).
 */
export function rankCatalogue(
  artifact: ModelArtifact,
  user: UserProfile,
  catalogue: Catalogue,
  limit: number,
  options: RankOptions = {},
): RankedLocation[] {
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  const total = Math.min(limit, catalogue.size);
  const shown = Math.min(options.explorationWindow ?? total, total);
  const explorationSlots = Math.min(options.explorationSlots ?? 0, shown);
  if (explorationSlots > 0 && options.random === undefined) throw new Error('exploration slots need options.random');

  const scores = scoreCatalogue(artifact, user, catalogue);
  const { ids } = catalogue;
  const order = Array.from({ length: catalogue.size }, (_, i) => i).sort(
    (a, b) => (scores[b] as number) - (scores[a] as number) || (ids[a] as number) - (ids[b] as number),
  );
  const exploited = order.slice(0, shown - explorationSlots);
  const explored = options.random?.shuffle(order.slice(exploited.length)).slice(0, explorationSlots) ?? [];
  const placed = new Set([...exploited, ...explored]);
  const after = order.filter((index) => !placed.has(index)).slice(0, total - shown);
  const result = (index: number, position: number, exploration: boolean): RankedLocation => ({
    location_id: ids[index] as number,
    score: scores[index] as number,
    rank: position + 1,
    exploration,
  });
  return [
    ...exploited.map((index, position) => result(index, position, false)),
    ...explored.map((index, position) => result(index, exploited.length + position, true)),
    ...after.map((index, position) => result(index, shown + position, false)),
  ];
}

export interface ServingPolicy {
  /** The most exploration slots of a task (EXPLORATION_SLOTS). */
  explorationSlots: number;
  /** How exploration fades with the labels the model learnt from (EXPLORATION_DECAY_LABELS). */
  explorationDecayLabels: number;
  /** Results stored per task. */
  limit: number;
  /** Results a user sees by default; exploration slots go at the end of these. */
  shown: number;
}

/**
 * A task's ranking exactly as the service stores and serves it: the model's top `limit`, with
 * the exploration slots its evidence calls for (explorationSlotsFor) at the end of the shown
 * ones, drawn from a generator seeded by the task's number so a rerun ranks the same.
 */
export function servedRanking(
  model: { artifact: ModelArtifact; labelsUsed: number },
  user: UserProfile,
  catalogue: Catalogue,
  policy: ServingPolicy,
  taskSeed: number,
): RankedLocation[] {
  const random = new Random(taskSeed);
  return rankCatalogue(model.artifact, user, catalogue, policy.limit, {
    explorationSlots: explorationSlotsFor(policy.explorationSlots, policy.explorationDecayLabels, model.labelsUsed, random),
    explorationWindow: policy.shown,
    random,
  });
}

/**
 * Hand-set weights of model version 1, on features scaled from these fixed ranges: it favours
 * well-rated, well-scored and cheaper places, and deliberately knows nothing of the budget or
 * the wishes. It is a baseline for the first searches, whose feedback trains its successor.
 */
const HAND_SET: Partial<Record<FeatureName, { weight: number; range: [number, number] }>> = {
  'location.user_score': { weight: 2, range: [0, 5] },
  'location.family_rating': { weight: 1, range: [0, 5] },
  'location.outdoor_rating': { weight: 1, range: [0, 5] },
  'location.food_rating': { weight: 1, range: [0, 7] },
  'location.leisure_rating': { weight: 1, range: [0, 6] },
  'location.service_rating': { weight: 1, range: [0, 5] },
  'location.price': { weight: -1, range: [0, 3000] },
};

/** Model version 1: the hand-set scorer, in the artifact format, scored by the same code as trained models. */
export function initialModel(): ModelArtifact {
  const entry = (name: FeatureName) => HAND_SET[name] ?? { weight: 0, range: [0, 1] };
  const weights = FEATURE_NAMES.map((name) => entry(name).weight);
  return {
    format: ARTIFACT_FORMAT,
    features: [...FEATURE_NAMES],
    scaling: { min: FEATURE_NAMES.map((name) => entry(name).range[0]), max: FEATURE_NAMES.map((name) => entry(name).range[1]) },
    weights,
    // Centres the scores: an average location gets about 0.5.
    bias: -weights.reduce((sum, weight) => sum + weight, 0) / 2,
    metadata: { kind: 'hand-set', description: 'favours ratings, user score and low prices; ignores budget and wishes' },
  };
}
