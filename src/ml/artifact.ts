import type { ModelArtifact } from './types.js';

const isNumberArray = (value: unknown, length?: number): value is number[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'number' && Number.isFinite(item)) && (length === undefined || value.length === length);

/**
 * Checks that stored JSON is a usable artifact before anything scores with it: a model that cannot
 * score fails its tasks with this message instead of producing NaN rankings.
 */
export function parseArtifact(value: unknown): ModelArtifact {
  const fail = (why: string): never => {
    throw new Error(`Invalid model artifact: ${why}`);
  };
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const artifact = value as Partial<ModelArtifact>;
  if (artifact.format !== 'portico-ranker/1') fail(`unknown format ${JSON.stringify(artifact.format)}`);
  const features = artifact.features;
  if (!Array.isArray(features) || !features.every((name) => typeof name === 'string')) return fail('features must be a list of names');
  const width = features.length;
  if (!isNumberArray(artifact.scaling?.min, width) || !isNumberArray(artifact.scaling?.max, width)) fail(`scaling needs ${width} minima and maxima`);
  const hidden = artifact.hidden;
  if (hidden !== undefined) {
    if (!Array.isArray(hidden.weights) || !hidden.weights.every((unit) => isNumberArray(unit, width))) fail(`each hidden unit needs ${width} weights`);
    if (!isNumberArray(hidden.biases, hidden.weights.length)) fail('each hidden unit needs a bias');
  }
  const outputs = hidden === undefined ? width : hidden.weights.length;
  if (!isNumberArray(artifact.weights, outputs)) fail(`the output layer needs ${outputs} numeric weights`);
  if (typeof artifact.bias !== 'number' || !Number.isFinite(artifact.bias)) fail('bias must be a number');
  if (typeof artifact.metadata !== 'object' || artifact.metadata === null) fail('metadata must be an object');
  return artifact as ModelArtifact;
}
