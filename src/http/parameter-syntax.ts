/**
 * Numbers in paths and query strings exactly as written. The validator reads a parameter's text as
 * JavaScript's Number() does, so `0x10`, `1e1`, ` 10` and `10.0` passed as 16 and 10: a typo
 * silently became another resource or page size. An integer or number parameter's text must be a
 * decimal as JSON writes it (no sign but `-`, no leading zeros, no spaces, no hex; integers without
 * a fraction or exponent), else the request is a 400 naming it, before the validator runs.
 */
import type { RequestHandler } from 'express';
import { DomainError, type FieldIssue } from '../domain/errors.js';
import { matchedOperation } from './dispatch.js';
import { isObject, type LoadedSpec, resolveRef } from './spec.js';

const GRAMMARS = {
  integer: { pattern: /^-?(?:0|[1-9]\d*)$/, message: 'must be an integer written in decimal digits' },
  number: { pattern: /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/, message: 'must be a number written as JSON writes one' },
} as const;

interface NumericParameter {
  in: 'path' | 'query';
  name: string;
  grammar: (typeof GRAMMARS)[keyof typeof GRAMMARS];
}

/** The numeric type a parameter's schema has (integer wins over number when it allows both), if any. */
function numericType(document: unknown, schema: unknown): keyof typeof GRAMMARS | undefined {
  const node = resolveRef(document, schema);
  if (!isObject(node)) return undefined;
  const types = Array.isArray(node.type) ? node.type : [node.type];
  return types.includes('integer') ? 'integer' : types.includes('number') ? 'number' : undefined;
}

export class ParameterSyntax {
  private readonly byOperation = new Map<string, NumericParameter[]>();

  constructor(spec: LoadedSpec) {
    for (const [operationId, { path, operation }] of spec.operations) {
      const declared = [...(spec.document.paths[path]?.parameters ?? []), ...(operation.parameters ?? [])];
      const numeric: NumericParameter[] = [];
      for (const reference of declared) {
        const parameter = resolveRef(spec.document, reference);
        if (!isObject(parameter) || (parameter.in !== 'path' && parameter.in !== 'query') || typeof parameter.name !== 'string') continue;
        const type = numericType(spec.document, parameter.schema);
        if (type) numeric.push({ in: parameter.in, name: parameter.name, grammar: GRAMMARS[type] });
      }
      if (numeric.length > 0) this.byOperation.set(operationId, numeric);
    }
  }

  /** Refuses a numeric parameter of the matched operation whose text is not a plain decimal. */
  middleware(): RequestHandler {
    return (req, _res, next) => {
      const matched = matchedOperation(req);
      const parameters = matched && this.byOperation.get(matched.schema.operationId);
      if (!parameters) return next();
      const issues: FieldIssue[] = [];
      for (const parameter of parameters) {
        const raw: unknown = parameter.in === 'path' ? matched.pathParams[parameter.name] : (req.query as Record<string, unknown>)[parameter.name];
        for (const text of Array.isArray(raw) ? raw : [raw]) {
          if (typeof text === 'string' && !parameter.grammar.pattern.test(text)) {
            issues.push({ location: parameter.in, pointer: `/${parameter.name}`, message: parameter.grammar.message });
          }
        }
      }
      next(issues.length > 0 ? DomainError.validation(issues) : undefined);
    };
  }
}
