import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ValidBody } from '../domain/defaults.js';
import { type FieldIssue, MAX_FIELD_ERRORS } from '../domain/errors.js';
import type { components } from '../generated/api.js';
import { fieldIssueAt } from './errors.js';
import { STORABLE_FORMATS } from './formats.js';
import type { OperationId, RequestBody } from './operations.js';
import type { LoadedSpec } from './spec.js';

// ajv-formats is CommonJS; its default export is the plugin function.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020, options: { mode: 'full' }) => Ajv2020;

export type SchemaName = keyof components['schemas'];
export type Schema<N extends SchemaName> = components['schemas'][N];

/** What a body check finds: the body as a handler would receive it, or every invalid field. */
export type BodyCheck<K extends OperationId> = { ok: true; body: ValidBody<K, RequestBody<K>> } | { ok: false; errors: FieldIssue[] };

/**
 * An Ajv that knows the spec's components and paths as `spec#/...`, with the formats
 * express-openapi-validator applies to requests: ajv-formats in full mode, then the storable
 * `date` and `date-time`. The contract tests build theirs here too, so they are exactly as strict
 * as the server.
 */
export function createSpecAjv(spec: LoadedSpec, options: { useDefaults?: boolean } = {}): Ajv2020 {
  const ajv = new Ajv2020({ strict: false, allErrors: true, useDefaults: options.useDefaults ?? false });
  addFormats(ajv, { mode: 'full' });
  for (const [name, validate] of Object.entries(STORABLE_FORMATS)) ajv.addFormat(name, validate);
  // Paths too: request bodies are compiled by their place in the document, so their $refs resolve.
  ajv.addSchema({ $id: 'spec', components: spec.document.components, paths: spec.document.paths });
  return ajv;
}

function fieldIssues(errors: ErrorObject[] | null | undefined): FieldIssue[] {
  return (errors ?? []).slice(0, MAX_FIELD_ERRORS).map((error) => {
    const extra = error.keyword === 'additionalProperties' || error.keyword === 'unevaluatedProperties' ? `/${String(Object.values(error.params)[0])}` : '';
    return fieldIssueAt(`/body${error.instancePath}${extra}`, error.message ?? 'is invalid');
  });
}

/**
 * Checks values against the spec's schemas with the rules express-openapi-validator applies to
 * requests (the same formats): messages that do not arrive as HTTP requests (WebSocket frames),
 * and, in tests, answers.
 */
export class SchemaValidator {
  /** For checks: never changes the value. */
  private readonly checker: Ajv2020;
  /** For request bodies: fills in the spec's defaults, as the HTTP validator does. */
  private readonly filler: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly spec: LoadedSpec) {
    this.checker = createSpecAjv(spec);
    this.filler = createSpecAjv(spec, { useDefaults: true });
  }

  private compile(ajv: Ajv2020, key: string, schema: object): ValidateFunction {
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = ajv.compile(schema);
      this.compiled.set(key, validate);
    }
    return validate;
  }

  /** The invalid fields of `value` as component schema `name` sees them; empty when valid. */
  errors(name: SchemaName, value: unknown): FieldIssue[] {
    const validate = this.compile(this.checker, `check:${name}`, { $ref: `spec#/components/schemas/${name}` });
    return validate(value) ? [] : fieldIssues(validate.errors);
  }

  is<N extends SchemaName>(name: N, value: unknown): value is Schema<N> {
    return this.errors(name, value).length === 0;
  }

  /** Checks `value` as operation `operationId`'s JSON request body and fills in its defaults. */
  body<K extends OperationId>(operationId: K, value: unknown): BodyCheck<K> {
    const validate = this.compile(this.filler, `body:${operationId}`, { $ref: `spec#${this.bodyPointer(operationId)}` });
    return validate(value) ? { ok: true, body: value as ValidBody<K, RequestBody<K>> } : { ok: false, errors: fieldIssues(validate.errors) };
  }

  private bodyPointer(operationId: string): string {
    const found = this.spec.operations.get(operationId);
    if (!found) throw new Error(`No operation ${operationId} in the spec`);
    return `/paths/${found.path.replaceAll('~', '~0').replaceAll('/', '~1')}/${found.method}/requestBody/content/application~1json/schema`;
  }
}
