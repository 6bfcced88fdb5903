/**
 * What PostgreSQL's jsonb cannot store faithfully, found before a write so that one bad value can
 * never fail (or silently alter) a batch that holds other clients' rows.
 */
export interface JsonProblem {
  /** JSON Pointer (RFC 6901) below the checked value. */
  pointer: string;
  message: string;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function stringProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain U+0000 (NUL), which PostgreSQL cannot store';
  if (LONE_SURROGATE.test(text)) return 'must not contain an unpaired UTF-16 surrogate (invalid Unicode)';
  return undefined;
}

const escapePointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * Walks a parsed JSON value iteratively (so deep nesting cannot overflow the stack) and reports
 * nesting beyond `maxDepth` (the value itself is depth 1), NUL characters, unpaired surrogates and
 * numbers that JSON.parse turned into Infinity. Stops after `maxProblems`.
 */
export function findUnstorableJson(value: unknown, maxDepth: number, maxProblems = 20): JsonProblem[] {
  const problems: JsonProblem[] = [];
  // Parallel stacks instead of an object per visited node: this runs on every ingested event.
  const values: unknown[] = [value];
  const pointers: string[] = [''];
  const depths: number[] = [1];
  while (values.length > 0 && problems.length < maxProblems) {
    const current = values.pop();
    const pointer = pointers.pop()!;
    const depth = depths.pop()!;
    if (typeof current === 'string') {
      const message = stringProblem(current);
      if (message) problems.push({ pointer, message });
    } else if (typeof current === 'number') {
      if (!Number.isFinite(current)) problems.push({ pointer, message: 'must be a finite number (at most about 1.8e308)' });
    } else if (current !== null && typeof current === 'object') {
      if (depth > maxDepth) {
        problems.push({ pointer, message: `is nested deeper than ${maxDepth} levels` });
      } else if (Array.isArray(current)) {
        for (let index = 0; index < current.length; index++) {
          values.push(current[index]);
          pointers.push(`${pointer}/${index}`);
          depths.push(depth + 1);
        }
      } else {
        for (const key in current) {
          const keyProblem = stringProblem(key);
          if (keyProblem) problems.push({ pointer: `${pointer}/${escapePointer(key)}`, message: `key ${keyProblem}` });
          values.push((current as Record<string, unknown>)[key]);
          pointers.push(`${pointer}/${escapePointer(key)}`);
          depths.push(depth + 1);
        }
      }
    }
  }
  return problems;
}
