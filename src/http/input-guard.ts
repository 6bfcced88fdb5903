import { findUnstorableJson } from '../db/jsonb.js';
import type { FieldIssue } from '../domain/errors.js';
import { isStorableJson } from './json-body.js';

/** No limit on nesting here: operations that store free-form JSON apply their own. */
const ANY_DEPTH = Number.POSITIVE_INFINITY;

/**
 * What no operation can store, whatever its schema says: text with U+0000 or unpaired surrogates
 * (PostgreSQL rejects the first and would silently alter the second) and numbers that became
 * Infinity (`1e400` in a parameter; a JSON body never gets this far with one, see json-body.ts).
 * Checked on every request before its handler; a JSON body the strict parser found storable is not
 * walked again.
 */
export function unstorableInput(input: { path: unknown; query: unknown; body: unknown }): FieldIssue[] {
  return (['path', 'query', 'body'] as const).flatMap((location) =>
    (location === 'body' && isStorableJson(input.body) ? [] : findUnstorableJson(input[location], ANY_DEPTH)).map((problem) => ({ location, pointer: problem.pointer || '/', message: problem.message })),
  );
}
