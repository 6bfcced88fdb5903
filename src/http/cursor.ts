import { ProblemError } from './problem.js';

type CursorValue = (value: string) => boolean;

const nonNegativeUpTo =
  (max: bigint): CursorValue =>
  (value) =>
    /^\d{1,20}$/.test(value) && BigInt(value) <= max;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * What a cursor's values may be, by the type of the column each is compared with: everything in a
 * cursor ends up as a SQL parameter, and one out of the column's range would fail in the database.
 */
export const CURSOR_VALUE = {
  /** integer (int4) */
  int4: nonNegativeUpTo(2_147_483_647n),
  /** bigint (int8) */
  int8: nonNegativeUpTo(9_223_372_036_854_775_807n),
  /** xid8: an unsigned 64-bit transaction id */
  xid8: nonNegativeUpTo(18_446_744_073_709_551_615n),
  uuid: (value) => UUID.test(value),
} as const satisfies Record<string, CursorValue>;

/**
 * Opaque pagination cursors: a keyset position, base64url-encoded JSON. Clients must pass them back
 * unchanged; a cursor that does not decode to the expected position is a 400 naming `cursor`.
 */
export function encodeCursor(position: Record<string, string>): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

export function decodeCursor<K extends string>(cursor: string | undefined, shape: Record<K, CursorValue>): Record<K, string> | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const record = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  const valid = record !== undefined && (Object.entries(shape) as [K, CursorValue][]).every(([key, accepts]) => {
    const value = record[key];
    return typeof value === 'string' && accepts(value);
  });
  if (!valid) {
    throw ProblemError.validation([{ location: 'query', pointer: '/cursor', message: 'is not a cursor this listing returned' }]);
  }
  return record as Record<K, string>;
}
