import { DomainError, type FieldIssue } from '../domain/errors.js';

export type CursorValue = (value: string) => boolean;

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
  /** date: a real calendar day, YYYY-MM-DD */
  date: (value) => /^\d{4}-\d{2}-\d{2}$/.test(value) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value),
  /** text that Postgres can store (no NUL), as long as the names it is compared with */
  text: (value) => value.length <= 200 && !value.includes('\u0000'),
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
    throw DomainError.validation([{ location: 'query', pointer: '/cursor', message: 'is not a cursor this listing returned' }]);
  }
  return record as Record<K, string>;
}

/**
 * Where a stream resumes: the Last-Event-ID header (EventSource sends it on reconnect) or, for
 * clients that cannot set headers, `?last_event_id=`. Undefined when neither is sent; a value that
 * is not a position the stream could have sent is a 400 naming it, never a stream from elsewhere.
 */
function resumeValue(header: string | string[] | undefined, query: string | undefined): { value: string; field: FieldIssue } | undefined {
  const sent = Array.isArray(header) ? header[0] : header;
  if (sent !== undefined && sent !== '') return { value: sent, field: { location: 'header', pointer: '/last-event-id', message: '' } };
  if (query !== undefined) return { value: query, field: { location: 'query', pointer: '/last_event_id', message: '' } };
  return undefined;
}

function notAPosition(field: FieldIssue): DomainError {
  return DomainError.validation([{ ...field, message: 'is not a position this stream sent' }]);
}

/** The 400 for a resume position that is well-formed but no stream could have sent (past every event). */
export function unsentPosition(header: string | string[] | undefined, query: string | undefined): DomainError {
  return notAPosition(resumeValue(header, query)?.field ?? { location: 'header', pointer: '/last-event-id', message: '' });
}

/** A task stream's position: the id of the last task event received (int8). */
export function decodeTaskPosition(header: string | string[] | undefined, query: string | undefined): string | undefined {
  const sent = resumeValue(header, query);
  if (sent === undefined) return undefined;
  if (!CURSOR_VALUE.int8(sent.value)) throw notAPosition(sent.field);
  return sent.value;
}

/** A live event stream's position, `<xid8>.<int8>` as its frames' ids carry it (src/streams/live-events.ts). */
export function decodeEventPosition(header: string | string[] | undefined, query: string | undefined): { xid: string; id: string } | undefined {
  const sent = resumeValue(header, query);
  if (sent === undefined) return undefined;
  const [xid = '', id = '', ...rest] = sent.value.split('.');
  if (rest.length > 0 || !CURSOR_VALUE.xid8(xid) || !CURSOR_VALUE.int8(id)) throw notAPosition(sent.field);
  return { xid, id };
}
