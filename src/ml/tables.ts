import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../project.js';

/**
 * The two tables of seed 003 (data/mlprod/*.tsv) that parameterise the synthetic catalogue and
 * the simulated users. Column names are the seed's, spelling included ("envirnonment",
 * "mouintains"), so that the files stay interchangeable with the seed's.
 */

/** Numeric columns of location.tsv: one row per kind of location, generating `meta_n` of them. */
export const LOCATION_TYPE_COLUMNS = [
  'meta_n',
  'threshold_child',
  'threshold_breakfast',
  'threshold_lunch',
  'threshold_dinner',
  'price_min',
  'price_max',
  'threshold_pool',
  'threshold_spa',
  'threshold_animals',
  'threshold_lake',
  'threshold_mountain',
  'threshold_sport',
  'family_min',
  'family_max',
  'outdoor_min',
  'outdoor_max',
  'food_min',
  'food_max',
  'leisure_min',
  'leisure_max',
  'service_min',
  'service_max',
  'score_min',
  'score_max',
] as const;

/** Numeric columns of user.tsv: one row per kind of traveller, `meta_dist` being its share. */
export const USER_TYPE_COLUMNS = [
  'meta_dist',
  'people_min',
  'people_max',
  'age_min',
  'age_max',
  'minor_age',
  'budget_min',
  'budget_max',
  'nights_min',
  'nights_max',
  'spa_thr',
  'pool_thr',
  'pet_friendly_thr',
  'lakes_thr',
  'mountains_thr',
  'sport_thr',
  'budget_tolerance',
  'facilities_tolerance',
  'environment_tolerance',
  'family_tolerance',
  'weight_spa',
  'weight_pool',
  'weight_pet',
  'weight_lake',
  'weight_mouintains',
  'weight_sport',
  'weight_score_facilities',
  'weight_score_envirnonment',
  'weight_score_users',
  'exploration_tolerance',
  'ignore_tolerance',
] as const;

/** A row of a typed table: its name (`meta_comment`) and every numeric column. */
export type TypeRow<Column extends string> = { readonly meta_comment: string } & { readonly [Name in Column]: number };

export type LocationType = TypeRow<(typeof LOCATION_TYPE_COLUMNS)[number]>;
export type UserType = TypeRow<(typeof USER_TYPE_COLUMNS)[number]>;

export interface MlprodTables {
  locationTypes: LocationType[];
  userTypes: UserType[];
}

/**
 * Parses tab-separated text whose first line is the header into one record per row. Blank lines
 * are skipped; a row with more or fewer fields than the header is an error.
 */
export function parseTsv(text: string): Record<string, string>[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const [header, ...rows] = lines;
  if (header === undefined) return [];
  const columns = header.split('\t');
  return rows.map((line, index) => {
    const fields = line.split('\t');
    if (fields.length !== columns.length) {
      throw new Error(`TSV ${describeRow(index)}: ${fields.length} fields, but the header has ${columns.length}`);
    }
    return Object.fromEntries(columns.map((column, position) => [column, fields[position] ?? '']));
  });
}

export function readLocationTypes(text: string): LocationType[] {
  return readTypeTable('location.tsv', text, LOCATION_TYPE_COLUMNS);
}

export function readUserTypes(text: string): UserType[] {
  return readTypeTable('user.tsv', text, USER_TYPE_COLUMNS);
}

/** Reads data/mlprod/location.tsv and data/mlprod/user.tsv from the repository. */
export async function loadMlprodTables(): Promise<MlprodTables> {
  const directory = join(projectRoot, 'data', 'mlprod');
  const [locations, users] = await Promise.all([
    readFile(join(directory, 'location.tsv'), 'utf8'),
    readFile(join(directory, 'user.tsv'), 'utf8'),
  ]);
  return { locationTypes: readLocationTypes(locations), userTypes: readUserTypes(users) };
}

function readTypeTable<Column extends string>(table: string, text: string, columns: readonly Column[]): TypeRow<Column>[] {
  return parseTsv(text).map((record, index) => {
    const row: Record<string, string | number> = { meta_comment: field(table, record, index, 'meta_comment') };
    for (const column of columns) row[column] = parseNumber(table, index, column, field(table, record, index, column));
    checkRanges(table, index, row, columns);
    return row as TypeRow<Column>;
  });
}

function field(table: string, record: Record<string, string>, index: number, column: string): string {
  const value = record[column];
  if (value === undefined) throw new Error(`${table} ${describeRow(index)}: missing column ${column}`);
  return value;
}

function parseNumber(table: string, index: number, column: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw new Error(`${table} ${describeRow(index)}, column ${column}: ${JSON.stringify(text)} is not a number`);
  }
  return value;
}

/** Every `<name>_min` must not exceed its `<name>_max`: the generators draw between the two. */
function checkRanges(table: string, index: number, row: Record<string, string | number>, columns: readonly string[]): void {
  for (const column of columns) {
    if (!column.endsWith('_min')) continue;
    const maxColumn = column.slice(0, -'_min'.length) + '_max';
    const min = row[column];
    const max = row[maxColumn];
    if (typeof min === 'number' && typeof max === 'number' && min > max) {
      throw new Error(`${table} ${describeRow(index)}: ${column} (${min}) is greater than ${maxColumn} (${max})`);
    }
  }
}

/** Data rows count from 1, after the header and without blank lines. */
function describeRow(index: number): string {
  return `row ${index + 1}`;
}
