import { LOCATION_FIELDS, type LocationValues, MAX_LOCATION_ID } from '../db/locations.js';

export interface LocationFileError {
  /** 1-based, counting the header as row 1, as a spreadsheet shows it. */
  row: number;
  column: string;
  message: string;
}

export type ParsedLocationFile =
  | { ok: true; rows: { locationId: number | undefined; values: LocationValues }[] }
  | { ok: false; errors: LocationFileError[] };

const BOOLEAN_FIELDS = new Set<string>(['children', 'breakfast', 'lunch', 'dinner', 'has_pool', 'has_spa', 'animals', 'near_lake', 'near_mountains', 'has_sport']);
const TRUE = new Set(['true', '1', 'yes', 't', 'y']);
const FALSE = new Set(['false', '0', 'no', 'f', 'n']);
const MAX_ROWS = 100_000;
const MAX_ERRORS = 20;

/** Splits CSV (RFC 4180 quoting) or TSV text into rows of cells; the header decides which. */
export function splitDelimited(text: string): string[][] {
  const body = text.replace(/^\uFEFF/, '');
  const firstLine = body.slice(0, body.search(/\r?\n|$/));
  const delimiter = firstLine.includes('\t') ? '\t' : ',';
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < body.length; i++) {
    const char = body[i]!;
    if (quoted) {
      if (char === '"' && body[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') {
        quoted = false;
      } else {
        cell += char;
      }
    } else if (char === '"' && cell === '') {
      quoted = true;
    } else if (char === delimiter) {
      row.push(cell);
      cell = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && body[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else {
      cell += char;
    }
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows.filter((cells) => cells.some((value) => value.trim() !== ''));
}

function range(field: string): [number, number] {
  return field === 'price' ? [0, 1_000_000] : [0, 10];
}

/**
 * Reads an uploaded catalogue file. Every cell is checked and up to 20 problems are reported with
 * their row and column, so a file can be fixed in one go; a file with any problem imports nothing.
 */
export function parseLocationFile(text: string): ParsedLocationFile {
  const table = splitDelimited(text);
  const [header, ...lines] = table;
  if (!header) return { ok: false, errors: [{ row: 1, column: '(header)', message: 'the file is empty' }] };
  const columns = header.map((name) => name.trim());
  const errors: LocationFileError[] = [];
  const known = new Set<string>(['location_id', ...LOCATION_FIELDS]);
  for (const column of columns) if (!known.has(column)) errors.push({ row: 1, column, message: 'is not a location field' });
  for (const field of LOCATION_FIELDS) if (!columns.includes(field)) errors.push({ row: 1, column: field, message: 'is missing from the header' });
  if (lines.length > MAX_ROWS) errors.push({ row: MAX_ROWS + 2, column: '(row)', message: `the file has more than ${MAX_ROWS} rows` });
  if (errors.length > 0) return { ok: false, errors: errors.slice(0, MAX_ERRORS) };

  const rows: { locationId: number | undefined; values: LocationValues }[] = [];
  const seenIds = new Map<number, number>();
  lines.forEach((cells, index) => {
    const rowNumber = index + 2;
    if (cells.length !== columns.length) {
      errors.push({ row: rowNumber, column: '(row)', message: `has ${cells.length} cells, the header has ${columns.length}` });
      return;
    }
    const values: Record<string, number | boolean> = {};
    let locationId: number | undefined;
    columns.forEach((column, position) => {
      const raw = cells[position]!.trim();
      if (column === 'location_id') {
        if (raw === '') return;
        const id = Number(raw);
        if (!Number.isInteger(id) || id < 1 || id > MAX_LOCATION_ID) {
          errors.push({ row: rowNumber, column, message: `"${raw}" is not a positive integer id` });
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
        else errors.push({ row: rowNumber, column, message: `"${raw}" is not true or false` });
      } else {
        const number = raw === '' ? Number.NaN : Number(raw);
        const [min, max] = range(column);
        if (!Number.isFinite(number)) errors.push({ row: rowNumber, column, message: `"${raw}" is not a number` });
        else if (number < min || number > max) errors.push({ row: rowNumber, column, message: `${number} is outside ${min}..${max}` });
        else values[column] = number;
      }
    });
    rows.push({ locationId, values: values as LocationValues });
  });
  return errors.length > 0 ? { ok: false, errors: errors.slice(0, MAX_ERRORS) } : { ok: true, rows };
}
