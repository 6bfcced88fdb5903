import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { LOCATION_FIELDS, type LocationValues, MAX_LOCATION_ID } from '../db/locations.js';
import { schemaFacts } from '../generated/constants.js';

export interface LocationFileError {
  /** 1-based, counting the header as row 1, as a spreadsheet shows it. */
  row: number;
  column: string;
  message: string;
}

export type ParsedLocationFile =
  | { ok: true; rows: { locationId: number | undefined; values: LocationValues }[] }
  | { ok: false; errors: LocationFileError[] };

const BOOLEAN_FIELDS = new Set<string>(LOCATION_FIELDS.filter((field) => schemaFacts.LocationFields[field].type === 'boolean'));
const TRUE = new Set(['true', '1', 'yes', 't', 'y']);
const FALSE = new Set(['false', '0', 'no', 'f', 'n']);
const MAX_ROWS = 100_000;
const MAX_ERRORS = 20;
/** Longest cell or column name quoted back in an error message. */
const MAX_QUOTED = 40;

/** A cell or column name as an error names it: short, so a 5 MB cell is not echoed back. */
const shortened = (raw: string) => (raw.length > MAX_QUOTED ? `${raw.slice(0, MAX_QUOTED)}…` : raw);
const quoted = (raw: string) => `"${shortened(raw)}"`;

/** Most time the parser runs before giving the event loop a turn: a 5 MB file never stalls other requests. */
const SLICE_MS = 10;
/** Characters read between looks at the clock. */
const CHARS_PER_CHECK = 16_384;
const PAUSE = Symbol('pause');

/** One row: its first cells (no more than the reader was asked to keep) and how many it had. */
interface Row {
  cells: string[];
  count: number;
}

/**
 * Reads CSV (RFC 4180 quoting) or TSV text row by row; the first line decides which. Cells are
 * sliced from the text, not built a character at a time, and a row keeps no more than `maxCells`
 * of them (it still counts the rest), so a line of a million delimiters costs no memory. Yields
 * PAUSE every CHARS_PER_CHECK characters, so the caller can give the event loop a turn mid-row.
 */
function* delimitedRows(text: string, limits: { maxCells: number }): Generator<Row | typeof PAUSE> {
  const body = text.replace(/^\uFEFF/, '');
  const firstLine = body.slice(0, body.search(/\r?\n|$/));
  const delimiter = firstLine.includes('\t') ? '\t' : ',';
  let row: Row = { cells: [], count: 0 };
  let nextCheck = CHARS_PER_CHECK;
  let i = 0;
  const push = (cell: string) => {
    if (row.count < limits.maxCells) row.cells.push(cell);
    row.count += 1;
  };
  while (i <= body.length) {
    if (i >= nextCheck) {
      nextCheck = i + CHARS_PER_CHECK;
      yield PAUSE;
    }
    let cell: string;
    if (body[i] === '"') {
      // A quoted cell runs to the quote not doubled; an unterminated one to the end of the text.
      let end = i + 1;
      for (;;) {
        end = body.indexOf('"', end);
        if (end === -1 || body[end + 1] !== '"') break;
        end += 2;
      }
      if (end === -1) end = body.length;
      cell = body.slice(i + 1, end).replaceAll('""', '"');
      i = end + 1;
      // Text between the closing quote and the next delimiter belongs to the cell, as spreadsheets read it.
      const rest = nextBoundary(body, i, delimiter);
      cell += body.slice(i, rest);
      i = rest;
    } else {
      const end = nextBoundary(body, i, delimiter);
      cell = body.slice(i, end);
      i = end;
    }
    push(cell);
    if (body[i] === delimiter) {
      i += 1;
      continue;
    }
    // End of a line or of the text.
    if (row.cells.some((value) => value.trim() !== '')) yield row;
    row = { cells: [], count: 0 };
    if (body[i] === '\r' && body[i + 1] === '\n') i += 1;
    i += 1;
  }
}

/** The index of the next delimiter or line break from `from`, or the text's length. */
function nextBoundary(body: string, from: number, delimiter: string): number {
  for (let i = from; i < body.length; i++) {
    const char = body[i];
    if (char === delimiter || char === '\n' || char === '\r') return i;
  }
  return body.length;
}

/** Each numeric field's bounds, as the spec states them. */
const RANGES = new Map<string, [number, number]>(
  LOCATION_FIELDS.filter((field) => !BOOLEAN_FIELDS.has(field)).map((field) => {
    const facts: { type: string; minimum?: number; maximum?: number } = schemaFacts.LocationFields[field];
    return [field, [facts.minimum ?? -Infinity, facts.maximum ?? Infinity]];
  }),
);

/**
 * Reads an uploaded catalogue file. Every cell is checked and up to 20 problems are reported with
 * their row and column, so a file can be fixed in one go; a file with any problem imports nothing.
 * The header is checked before the rest is read, reading stops at the 20th problem, and the work is
 * cut into slices of SLICE_MS with the event loop's turn between them.
 */
export async function parseLocationFile(text: string): Promise<ParsedLocationFile> {
  // The header names every field once, and each unknown column is an error: past what can be
  // reported, columns are counted, not kept.
  const limits = { maxCells: LOCATION_FIELDS.length + 1 + MAX_ERRORS };
  const reader = delimitedRows(text, limits);
  let sliceStart = performance.now();
  const nextRow = async (): Promise<Row | undefined> => {
    for (;;) {
      const item = reader.next();
      if (item.done) return undefined;
      if (performance.now() - sliceStart >= SLICE_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
      if (item.value !== PAUSE) return item.value;
    }
  };

  const header = await nextRow();
  if (!header) return { ok: false, errors: [{ row: 1, column: '(header)', message: 'the file is empty' }] };
  const columns = header.cells.map((name) => name.trim());
  const errors: LocationFileError[] = [];
  if (header.count > limits.maxCells) {
    return { ok: false, errors: [{ row: 1, column: '(header)', message: `has ${header.count} columns; a location has ${LOCATION_FIELDS.length + 1} fields` }] };
  }
  const known = new Set<string>(['location_id', ...LOCATION_FIELDS]);
  for (const column of columns) if (!known.has(column)) errors.push({ row: 1, column: shortened(column), message: 'is not a location field' });
  for (const field of LOCATION_FIELDS) if (!columns.includes(field)) errors.push({ row: 1, column: field, message: 'is missing from the header' });
  if (errors.length > 0) return { ok: false, errors: errors.slice(0, MAX_ERRORS) };
  // A row with more cells than the header is an error whatever the extra ones hold.
  limits.maxCells = columns.length;

  const rows: { locationId: number | undefined; values: LocationValues }[] = [];
  const seenIds = new Map<number, number>();
  for (let rowNumber = 2; errors.length < MAX_ERRORS; rowNumber++) {
    const row = await nextRow();
    if (!row) break;
    if (rowNumber - 1 > MAX_ROWS) {
      errors.push({ row: rowNumber, column: '(row)', message: `the file has more than ${MAX_ROWS} rows` });
      break;
    }
    if (row.count !== columns.length) {
      errors.push({ row: rowNumber, column: '(row)', message: `has ${row.count} cells, the header has ${columns.length}` });
      continue;
    }
    const values: Record<string, number | boolean> = {};
    let locationId: number | undefined;
    columns.forEach((column, position) => {
      const raw = row.cells[position]!.trim();
      if (column === 'location_id') {
        if (raw === '') return;
        const id = Number(raw);
        if (!Number.isInteger(id) || id < 1 || id > MAX_LOCATION_ID) {
          errors.push({ row: rowNumber, column, message: `${quoted(raw)} is not a positive integer id` });
        } else if (seenIds.has(id)) {
          errors.push({ row: rowNumber, column, message: `${id} repeats row ${seenIds.get(id)}` });
        } else {
          seenIds.set(id, rowNumber);
          locationId = id;
        }
      } else if (BOOLEAN_FIELDS.has(column)) {
        const lower = raw.toLowerCase();
        if (TRUE.has(lower)) values[column] = true;
        else if (FALSE.has(lower)) values[column] = false;
        else errors.push({ row: rowNumber, column, message: `${quoted(raw)} is not true or false` });
      } else {
        const [min, max] = RANGES.get(column)!;
        const number = raw === '' ? Number.NaN : Number(raw);
        if (!Number.isFinite(number)) errors.push({ row: rowNumber, column, message: `${quoted(raw)} is not a number` });
        else if (number < min || number > max) errors.push({ row: rowNumber, column, message: `${number} is outside ${min}..${max}` });
        else values[column] = number;
      }
    });
    rows.push({ locationId, values: values as LocationValues });
  }
  return errors.length > 0 ? { ok: false, errors: errors.slice(0, MAX_ERRORS) } : { ok: true, rows };
}
