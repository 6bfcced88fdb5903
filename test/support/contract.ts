import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { expect } from 'vitest';
import type { components } from '../../src/generated/api.js';
import { loadSpec } from '../../src/http/spec.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
export const spec = loadSpec();

/** An Ajv instance knowing every component schema of the bundled spec, as `#/components/schemas/<Name>`. */
function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('media-range', true);
  ajv.addSchema({ $id: 'spec', components: spec.document.components }, 'spec');
  return ajv;
}
export const ajv = createAjv();

export type SchemaName = keyof components['schemas'];

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
