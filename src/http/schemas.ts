import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { fieldErrorFromValidator, type FieldError } from './problem.js';
import { STORABLE_FORMATS } from './formats.js';
import type { LoadedSpec } from './spec.js';

// ajv-formats is CommonJS; its default export is the plugin function.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020, options: { mode: 'full' }) => Ajv2020;

/**
 * Validates messages that do not arrive as HTTP requests (WebSocket frames) against the spec's
 * component schemas, with the same rules express-openapi-validator applies to requests.
 */
export class SchemaValidator {
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(spec: LoadedSpec) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv, { mode: 'full' });
    for (const [name, validate] of Object.entries(STORABLE_FORMATS)) this.ajv.addFormat(name, validate);
    this.ajv.addSchema({ $id: 'spec', components: spec.document.components });
  }

  /** The invalid fields of `value` as a component schema `name` sees them; empty when valid. */
  errors(name: string, value: unknown): FieldError[] {
    let validate = this.compiled.get(name);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `spec#/components/schemas/${name}` });
      this.compiled.set(name, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((error) => {
      const extra = error.keyword === 'additionalProperties' || error.keyword === 'unevaluatedProperties' ? `/${String(Object.values(error.params)[0])}` : '';
      return fieldErrorFromValidator(`/body${error.instancePath}${extra}`, error.message ?? 'is invalid');
    });
  }
}
