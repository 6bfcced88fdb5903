import type { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'vitest';
import type { components } from '../../src/generated/api.js';
import { createSpecAjv, type SchemaName } from '../../src/http/schemas.js';
import { loadSpec } from '../../src/http/spec.js';

export const spec = loadSpec();

/**
 * The server's own Ajv (its formats included, the storable date and date-time among them), knowing
 * every component schema of the bundled spec as `spec#/components/schemas/<Name>`: a contract test
 * can be no looser than the server.
 */
export const ajv: Ajv2020 = createSpecAjv(spec);

export type { SchemaName };

/** The errors of `value` against a component schema, or [] when it is valid. */
export function schemaErrors(name: SchemaName, value: unknown): string[] {
  const validate = ajv.getSchema(`spec#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema ${name}`);
  return validate(value) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
}

export function expectSchema(name: SchemaName, value: unknown): void {
  expect(schemaErrors(name, value), `${name}: ${JSON.stringify(value).slice(0, 300)}`).toEqual([]);
}

export type Problem = components['schemas']['Problem'];

/** Asserts a problem+json answer with this status that matches the spec's Problem schema. */
export async function expectProblem(response: Response, status: number): Promise<Problem> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body: unknown = await response.json();
  expectSchema('Problem', body);
  const problem = body as Problem;
  expect(problem.status).toBe(status);
  expect(problem.request_id).toBe(response.headers.get('x-request-id'));
  return problem;
}

export type OpenAiError = components['schemas']['OpenAiError'];

/** Asserts an answer in OpenAI's error dialect (every error on /v1/…) with this status, valid against the spec's OpenAiError. */
export async function expectOpenAiError(response: Response, status: number): Promise<OpenAiError> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.headers.get('x-request-id')).toBeTruthy();
  const body: unknown = await response.json();
  expectSchema('OpenAiError', body);
  return body as OpenAiError;
}

/** The error of an operation at `path`, in the dialect its path speaks. */
export async function expectErrorAt(path: string, response: Response, status: number): Promise<{ problem?: Problem; openAi?: OpenAiError }> {
  return path.startsWith('/v1/') ? { openAi: await expectOpenAiError(response, status) } : { problem: await expectProblem(response, status) };
}
