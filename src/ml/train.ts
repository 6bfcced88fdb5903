import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { schemaFacts } from '../generated/constants.js';
import { exampleFeatures, FEATURE_COUNT, FEATURE_NAMES } from './features.js';
import { computeMetrics } from './metrics.js';
import { ARTIFACT_FORMAT, scaleFeatures, scoreExamples, sigmoid } from './model.js';
import { Random } from './random.js';
import type { ModelArtifact, ModelMetrics, TrainingExample, TrainingOptions } from './types.js';

const API_PARAMS = schemaFacts.TrainingParams;

/** The API's hyper-parameters default as the spec says (TrainingParams); the rest are this trainer's own. */
export const DEFAULT_TRAINING_OPTIONS: Readonly<Required<TrainingOptions>> = {
  epochs: API_PARAMS.epochs.default,
  learning_rate: API_PARAMS.learning_rate.default,
  seed: API_PARAMS.seed.default,
  holdout_fraction: API_PARAMS.holdout_fraction.default,
  batch_size: 64,
  hidden_units: 0,
  // Strong enough that 500 searches' worth of picks does not chase noise in 50 features (0.01
  // lost 0.05 to 0.1 of NDCG@10 with the choice objective, 0.3 underfit).
  l2: 0.05,
  objective: 'choice',
};

export interface TrainingHooks {
  /** Called after each epoch (1-based) with the epoch's mean training loss; awaited. */
  onEpoch?(epoch: number, epochs: number, loss: number): void | Promise<void>;
  /** Aborting stops training between batches with a TrainingAbortedError. */
  signal?: AbortSignal;
}

export interface TrainingResult {
  artifact: ModelArtifact;
  /** Of the trained model on the hold-out set. */
  metrics: ModelMetrics;
  trainExamples: number;
  holdoutExamples: number;
  /** The hold-out examples, so that other models can be measured on the same data. */
  holdout: TrainingExample[];
}

export class TrainingAbortedError extends Error {
  override readonly name = 'AbortError';
}

/** Training yields to the event loop at least this often, so a server stays responsive. */
const YIELD_EVERY_MS = 5;

// Adam's usual constants: robust across learning rates and feature scales.
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;

/**
 * Trains a ranker on picked (1) and not-picked (0) examples: a linear score, or with
 * `hidden_units` one through a ReLU hidden layer, by mini-batch gradient descent (Adam) with an L2
 * penalty. The `choice` objective (the default) fits a multinomial logit to each shown list: the
 * traveller picks location i with probability exp(z_i) / (1 + sum of exp(z_j) over the list), or
 * nothing with 1 / (...). It learns what made the pick better than what was shown beside it, which
 * is what a ranking needs; the pointwise objective also learns from which lists happened to be
 * shown, and on 500 searches that noise cost it 0.01 to 0.06 of NDCG@10. The `pointwise` objective is
 * binary cross-entropy on class-balanced batches (half positives, half negatives). An example
 * without a group is a list of its own.
 *
 * A stratified hold-out set (whole lists for `choice`), drawn with the seed, is kept out of
 * training and of the min-max scaling, and gives the metrics, from sigmoid(z). The same examples
 * and options give identical weights.
 */
export async function trainModel(
  examples: readonly TrainingExample[],
  options: TrainingOptions,
  hooks: TrainingHooks = {},
): Promise<TrainingResult> {
  const settings = resolveOptions(options);
  throwIfAborted(hooks.signal);
  const random = new Random(settings.seed);
  const choice = settings.objective === 'choice';
  const { train, holdout } = choice ? groupedSplit(examples, settings.holdout_fraction, random) : stratifiedSplit(examples, settings.holdout_fraction, random);

  const features = exampleFeatures(train);
  const scaling = fitScaling(features);
  scaleFeatures(features, scaling);
  const labels = Float64Array.from(train, (example) => example.label);
  const rowsLabelled = (label: 0 | 1) => train.flatMap((example, row) => (example.label === label ? [row] : []));
  const positives = rowsLabelled(1);
  const lists = choice ? shownLists(train) : [];
  const rowsPerList = lists.length === 0 ? 1 : train.length / lists.length;
  // About batch_size rows a step either way.
  const listsPerBatch = Math.max(1, Math.round(settings.batch_size / rowsPerList));
  const nextBatch = choice
    ? ((listBatches) => () => ({ lists: listBatches.next() }))(new ListBatches(lists, listsPerBatch, random))
    : ((rowBatches) => () => ({ rows: rowBatches.next() }))(new BalancedBatches(positives, rowsLabelled(0), settings.batch_size, random));
  const batchesPerEpoch = choice ? Math.ceil(lists.length / listsPerBatch) : Math.ceil(train.length / settings.batch_size);
  const network = new Network(settings.hidden_units, random);

  let lastYield = performance.now();
  let loss = Number.NaN;
  for (let epoch = 1; epoch <= settings.epochs; epoch += 1) {
    let lossSum = 0;
    for (let b = 0; b < batchesPerEpoch; b += 1) {
      const batch = nextBatch();
      lossSum +=
        'lists' in batch
          ? network.choiceStep(features, labels, batch.lists, settings.learning_rate, settings.l2)
          : network.step(features, labels, batch.rows, settings.learning_rate, settings.l2);
      if (performance.now() - lastYield >= YIELD_EVERY_MS) {
        await nextMacrotask();
        lastYield = performance.now();
      }
      throwIfAborted(hooks.signal);
    }
    loss = lossSum / batchesPerEpoch;
    await hooks.onEpoch?.(epoch, settings.epochs, loss);
    throwIfAborted(hooks.signal);
  }

  const artifact: ModelArtifact = {
    format: ARTIFACT_FORMAT,
    features: [...FEATURE_NAMES],
    scaling,
    ...network.export(),
    metadata: {
      kind: settings.hidden_units > 0 ? 'neural-network' : 'logistic-regression',
      options: settings,
      train_examples: train.length,
      ...(choice ? { train_lists: lists.length } : {}),
      train_positives: positives.length,
      holdout_examples: holdout.length,
      final_loss: loss,
      trained_at: new Date().toISOString(),
    },
  };
  // Scored through the serving code, so the metrics are those of the artifact as served.
  const metrics = computeMetrics(
    holdout.map((example) => example.label),
    scoreExamples(artifact, holdout),
  );
  return { artifact, metrics, trainExamples: train.length, holdoutExamples: holdout.length, holdout };
}

function resolveOptions(options: TrainingOptions): Required<TrainingOptions> {
  const settings = { ...DEFAULT_TRAINING_OPTIONS, ...definedOnly(options) };
  const problems = [
    !(Number.isInteger(settings.epochs) && settings.epochs >= 1) && 'epochs must be a positive integer',
    !(settings.learning_rate > 0 && Number.isFinite(settings.learning_rate)) && 'learning_rate must be positive',
    !Number.isInteger(settings.seed) && 'seed must be an integer',
    !(settings.holdout_fraction >= API_PARAMS.holdout_fraction.minimum && settings.holdout_fraction <= API_PARAMS.holdout_fraction.maximum) &&
      `holdout_fraction must be between ${API_PARAMS.holdout_fraction.minimum} and ${API_PARAMS.holdout_fraction.maximum}`,
    !(Number.isInteger(settings.batch_size) && settings.batch_size >= 2) && 'batch_size must be an integer of at least 2',
    !(Number.isInteger(settings.hidden_units) && settings.hidden_units >= 0) && 'hidden_units must be a non-negative integer',
    !(settings.l2 >= 0 && Number.isFinite(settings.l2)) && 'l2 must be non-negative',
    !['choice', 'pointwise'].includes(settings.objective) && 'objective must be choice or pointwise',
  ].filter((problem) => problem !== false);
  if (problems.length > 0) throw new RangeError(`invalid training options: ${problems.join('; ')}`);
  return settings;
}

/** Drops undefined values, so that an explicit `batch_size: undefined` keeps the default. */
function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new TrainingAbortedError('training was aborted', { cause: signal.reason });
}

/**
 * Splits the examples into training and hold-out sets, each class separately so that both keep
 * the overall share of positives. Each set gets at least one example of each class.
 */
function stratifiedSplit(examples: readonly TrainingExample[], fraction: number, random: Random) {
  const positives = examples.filter((example) => example.label === 1);
  const negatives = examples.filter((example) => example.label === 0);
  if (positives.length < 2 || negatives.length < 2) {
    throw new Error(
      `training needs at least 2 positive and 2 negative examples (one of each for the hold-out set), ` +
        `got ${positives.length} positive and ${negatives.length} negative`,
    );
  }
  const train: TrainingExample[] = [];
  const holdout: TrainingExample[] = [];
  for (const group of [negatives, positives]) {
    random.shuffle(group);
    const held = Math.min(Math.max(Math.round(group.length * fraction), 1), group.length - 1);
    holdout.push(...group.slice(0, held));
    train.push(...group.slice(held));
  }
  return { train, holdout };
}

/** An example's list: its group, or a list of its own (negative keys cannot collide with groups). */
function listKey(example: TrainingExample, index: number): number {
  return example.group ?? -1 - index;
}

/**
 * Splits whole lists into training and hold-out sets, lists with a pick and lists without
 * separately (so both sets keep the share of picks); each set gets at least one list with a pick.
 */
function groupedSplit(examples: readonly TrainingExample[], fraction: number, random: Random) {
  const lists = new Map<number, TrainingExample[]>();
  examples.forEach((example, index) => {
    const key = listKey(example, index);
    const list = lists.get(key);
    if (list) list.push(example);
    else lists.set(key, [example]);
  });
  const all = [...lists.values()];
  const picked = all.filter((list) => list.some((example) => example.label === 1));
  const unpicked = all.filter((list) => !list.some((example) => example.label === 1));
  const negatives = examples.length - examples.filter((example) => example.label === 1).length;
  if (picked.length < 2 || negatives < 2) {
    throw new Error(
      `training needs at least 2 lists with a pick and 2 negative examples (some of each for the hold-out set), ` +
        `got ${picked.length} lists with a pick and ${negatives} negative examples`,
    );
  }
  const train: TrainingExample[] = [];
  const holdout: TrainingExample[] = [];
  for (const [group, keepOne] of [[unpicked, false], [picked, true]] as const) {
    random.shuffle(group);
    const wanted = Math.round(group.length * fraction);
    const held = keepOne ? Math.min(Math.max(wanted, 1), group.length - 1) : Math.min(wanted, group.length);
    holdout.push(...group.slice(0, held).flat());
    train.push(...group.slice(held).flat());
  }
  if (!holdout.some((example) => example.label === 0)) {
    throw new Error('the hold-out lists hold no negative example; training needs more than one location shown per list');
  }
  return { train, holdout };
}

/** A shown list for the choice objective: its training rows, and which of them was picked (-1: none). */
interface ShownList {
  rows: Int32Array;
  picked: number;
}

function shownLists(train: readonly TrainingExample[]): ShownList[] {
  const rows = new Map<number, number[]>();
  train.forEach((example, row) => {
    const key = listKey(example, row);
    const list = rows.get(key);
    if (list) list.push(row);
    else rows.set(key, [row]);
  });
  return [...rows.values()].map((list) => ({ rows: Int32Array.from(list), picked: list.find((row) => train[row]?.label === 1) ?? -1 }));
}

/** Endless batches of whole lists, cycled through in a fresh seeded order whenever they run out. */
class ListBatches {
  private readonly cycle: Cycle;
  private readonly batch: ShownList[];

  constructor(
    private readonly lists: readonly ShownList[],
    size: number,
    random: Random,
  ) {
    this.cycle = new Cycle(Array.from(lists, (_, index) => index), random);
    this.batch = Array<ShownList>(Math.min(size, lists.length));
  }

  next(): readonly ShownList[] {
    for (let i = 0; i < this.batch.length; i += 1) this.batch[i] = this.lists[this.cycle.next()] as ShownList;
    return this.batch;
  }
}

/** The smallest and largest value of each feature in a raw feature matrix. */
function fitScaling(matrix: Float64Array): ModelArtifact['scaling'] {
  const min = Array<number>(FEATURE_COUNT).fill(Number.POSITIVE_INFINITY);
  const max = Array<number>(FEATURE_COUNT).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < matrix.length; i += 1) {
    const j = i % FEATURE_COUNT;
    const value = matrix[i] as number;
    if (value < (min[j] as number)) min[j] = value;
    if (value > (max[j] as number)) max[j] = value;
  }
  return { min, max };
}

/**
 * Endless class-balanced batches of training rows: each half positives, half negatives, each
 * class cycled through in a fresh seeded order whenever it runs out.
 */
class BalancedBatches {
  private readonly cycles: [Cycle, Cycle];
  private readonly batch: Int32Array;

  constructor(positives: number[], negatives: number[], batchSize: number, random: Random) {
    this.cycles = [new Cycle(positives, random), new Cycle(negatives, random)];
    this.batch = new Int32Array(batchSize);
  }

  next(): Int32Array {
    const half = this.batch.length >> 1;
    for (let i = 0; i < this.batch.length; i += 1) this.batch[i] = this.cycles[i < half ? 0 : 1].next();
    return this.batch;
  }
}

class Cycle {
  private position: number;

  constructor(
    private readonly rows: number[],
    private readonly random: Random,
  ) {
    this.position = rows.length;
  }

  next(): number {
    if (this.position === this.rows.length) {
      this.random.shuffle(this.rows);
      this.position = 0;
    }
    return this.rows[this.position++] as number;
  }
}

/**
 * The trainable model: all parameters in one array (hidden weights, hidden biases, output
 * weights, output bias), so that the optimiser treats them uniformly. No hidden units means
 * logistic regression.
 */
class Network {
  private readonly units: number;
  private readonly parameters: Float64Array;
  private readonly gradient: Float64Array;
  // Adam's running first and second moments, and its step count for bias correction.
  private readonly moment1: Float64Array;
  private readonly moment2: Float64Array;
  private steps = 0;
  private readonly hidden: Float64Array;
  // Offsets of each block in `parameters`.
  private readonly hiddenBiasAt: number;
  private readonly outputAt: number;
  private readonly biasAt: number;

  constructor(units: number, random: Random) {
    this.units = units;
    const outputInputs = units > 0 ? units : FEATURE_COUNT;
    this.hiddenBiasAt = units * FEATURE_COUNT;
    this.outputAt = this.hiddenBiasAt + units;
    this.biasAt = this.outputAt + outputInputs;
    this.parameters = new Float64Array(this.biasAt + 1);
    this.gradient = new Float64Array(this.parameters.length);
    this.moment1 = new Float64Array(this.parameters.length);
    this.moment2 = new Float64Array(this.parameters.length);
    this.hidden = new Float64Array(units);
    // He initialisation for the ReLU layer; logistic regression starts from zero.
    const hiddenLimit = Math.sqrt(6 / FEATURE_COUNT);
    for (let i = 0; i < this.hiddenBiasAt; i += 1) this.parameters[i] = random.uniform(-hiddenLimit, hiddenLimit);
    const outputLimit = Math.sqrt(6 / (outputInputs + 1));
    for (let i = this.outputAt; i < this.biasAt && units > 0; i += 1) this.parameters[i] = random.uniform(-outputLimit, outputLimit);
  }

  /** One gradient step on the batch's rows; returns the batch's mean loss before the step. */
  step(features: Float64Array, labels: Float64Array, batch: Int32Array, learningRate: number, l2: number): number {
    this.gradient.fill(0);
    let loss = 0;
    for (const row of batch) {
      const x = features.subarray(row * FEATURE_COUNT, (row + 1) * FEATURE_COUNT);
      const y = labels[row] as number;
      const z = this.forward(x);
      // Binary cross-entropy from the logit, stable for large |z|.
      loss += Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
      this.backward(x, (sigmoid(z) - y) / batch.length);
    }
    // The L2 penalty's gradient; biases are not penalised.
    for (let i = 0; i < this.biasAt; i += 1) this.gradient[i] = (this.gradient[i] as number) + l2 * (this.parameters[i] as number);
    this.adam(learningRate);
    return loss / batch.length;
  }

  /**
   * One gradient step of the choice model on whole lists: the loss of a list is
   * -log P(its pick), P(i) = exp(z_i) / (1 + sum_j exp(z_j)), the 1 being "picked nothing".
   * Returns the batch's mean loss per list before the step.
   */
  choiceStep(features: Float64Array, labels: Float64Array, lists: readonly ShownList[], learningRate: number, l2: number): number {
    this.gradient.fill(0);
    let loss = 0;
    const row = (index: number) => features.subarray(index * FEATURE_COUNT, (index + 1) * FEATURE_COUNT);
    for (const list of lists) {
      const logits = Array.from(list.rows, (index) => this.forward(row(index)));
      // Shifted by the largest utility (the "nothing" option's 0 included) so exp cannot overflow.
      const shift = Math.max(0, ...logits);
      const total = Math.exp(-shift) + logits.reduce((sum, z) => sum + Math.exp(z - shift), 0);
      const pickedAt = list.rows.indexOf(list.picked);
      const chosen = (pickedAt === -1 ? 0 : (logits[pickedAt] as number)) - shift;
      loss += Math.log(total) - chosen;
      list.rows.forEach((index, position) => {
        const probability = Math.exp((logits[position] as number) - shift) / total;
        const x = row(index);
        // forward() again: backward() reads this row's hidden activations.
        this.forward(x);
        this.backward(x, (probability - (labels[index] as number)) / lists.length);
      });
    }
    for (let i = 0; i < this.biasAt; i += 1) this.gradient[i] = (this.gradient[i] as number) + l2 * (this.parameters[i] as number);
    this.adam(learningRate);
    return loss / lists.length;
  }

  /** The logit for one scaled feature row; leaves the hidden activations in `this.hidden`. */
  private forward(x: Float64Array): number {
    const p = this.parameters;
    let z = p[this.biasAt] as number;
    if (this.units === 0) {
      for (let j = 0; j < FEATURE_COUNT; j += 1) z += (p[this.outputAt + j] as number) * (x[j] as number);
      return z;
    }
    for (let h = 0; h < this.units; h += 1) {
      let a = p[this.hiddenBiasAt + h] as number;
      for (let j = 0; j < FEATURE_COUNT; j += 1) a += (p[h * FEATURE_COUNT + j] as number) * (x[j] as number);
      this.hidden[h] = Math.max(0, a);
      z += (p[this.outputAt + h] as number) * (this.hidden[h] as number);
    }
    return z;
  }

  /** Adds one row's gradient, given d(loss)/d(logit), to `this.gradient`. */
  private backward(x: Float64Array, dz: number): void {
    const p = this.parameters;
    const g = this.gradient;
    g[this.biasAt] = (g[this.biasAt] as number) + dz;
    if (this.units === 0) {
      for (let j = 0; j < FEATURE_COUNT; j += 1) g[this.outputAt + j] = (g[this.outputAt + j] as number) + dz * (x[j] as number);
      return;
    }
    for (let h = 0; h < this.units; h += 1) {
      const activation = this.hidden[h] as number;
      g[this.outputAt + h] = (g[this.outputAt + h] as number) + dz * activation;
      if (activation <= 0) continue;
      const da = dz * (p[this.outputAt + h] as number);
      g[this.hiddenBiasAt + h] = (g[this.hiddenBiasAt + h] as number) + da;
      for (let j = 0; j < FEATURE_COUNT; j += 1) g[h * FEATURE_COUNT + j] = (g[h * FEATURE_COUNT + j] as number) + da * (x[j] as number);
    }
  }

  private adam(learningRate: number): void {
    this.steps += 1;
    const correction1 = 1 - ADAM_BETA1 ** this.steps;
    const correction2 = 1 - ADAM_BETA2 ** this.steps;
    for (let i = 0; i < this.parameters.length; i += 1) {
      const g = this.gradient[i] as number;
      const m = ADAM_BETA1 * (this.moment1[i] as number) + (1 - ADAM_BETA1) * g;
      const v = ADAM_BETA2 * (this.moment2[i] as number) + (1 - ADAM_BETA2) * g * g;
      this.moment1[i] = m;
      this.moment2[i] = v;
      this.parameters[i] = (this.parameters[i] as number) - (learningRate * (m / correction1)) / (Math.sqrt(v / correction2) + ADAM_EPSILON);
    }
  }

  /** The parameters in the artifact's layout. */
  export(): Pick<ModelArtifact, 'hidden' | 'weights' | 'bias'> {
    const p = Array.from(this.parameters);
    const layers = {
      weights: p.slice(this.outputAt, this.biasAt),
      bias: p[this.biasAt] as number,
    };
    if (this.units === 0) return layers;
    return {
      hidden: {
        weights: Array.from({ length: this.units }, (_, h) => p.slice(h * FEATURE_COUNT, (h + 1) * FEATURE_COUNT)),
        biases: p.slice(this.hiddenBiasAt, this.outputAt),
      },
      ...layers,
    };
  }
}
