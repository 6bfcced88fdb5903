import { ProblemError } from './problem.js';

/** Patterns a cursor's values may have; everything in a cursor ends up as a SQL parameter. */
export const CURSOR_VALUE = {
  integer: /^\d{1,20}$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
} as const;

/**
 * Opaque pagination cursors: a keyset position, base64url-encoded JSON. Clients must pass them back
 * unchanged; a cursor that does not decode to the expected position is a 400 naming `cursor`.
 */
export function encodeCursor(position: Record<string, string>): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

export function decodeCursor<K extends string>(cursor: string | undefined, shape: Record<K, RegExp>): Record<K, string> | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const record = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  const valid = record !== undefined && (Object.entries(shape) as [K, RegExp][]).every(([key, pattern]) => typeof record[key] === 'string' && pattern.test(record[key]));
  if (!valid) {
    throw ProblemError.validation([{ location: 'query', pointer: '/cursor', message: 'is not a cursor this listing returned' }]);
  }
  return record as Record<K, string>;
}
