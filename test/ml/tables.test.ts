import { describe, expect, it } from 'vitest';
import { loadMlprodTables, parseTsv, readLocationTypes, readUserTypes } from '../../src/ml/tables.js';

const LOCATION_HEADER =
  'meta_comment\tmeta_n\tthreshold_child\tthreshold_breakfast\tthreshold_lunch\tthreshold_dinner\tprice_min\tprice_max\t' +
  'threshold_pool\tthreshold_spa\tthreshold_animals\tthreshold_lake\tthreshold_mountain\tthreshold_sport\tfamily_min\t' +
  'family_max\toutdoor_min\toutdoor_max\tfood_min\tfood_max\tleisure_min\tleisure_max\tservice_min\tservice_max\t' +
  'score_min\tscore_max';
const locationRow = (name: string, priceMin = '100', priceMax = '300') =>
  [name, '5', '0.5', '0.5', '0.5', '0.5', priceMin, priceMax, ...Array<string>(6).fill('0.5'), ...Array<string>(12).fill('1')].join('\t');

describe('parseTsv', () => {
  it('reads one record per row keyed by the header, ignoring CRLF and blank lines', () => {
    expect(parseTsv('a\tb\r\n1\tx\r\n\r\n2\ty\n')).toEqual([
      { a: '1', b: 'x' },
      { a: '2', b: 'y' },
    ]);
    expect(parseTsv('')).toEqual([]);
  });

  it('rejects a row whose field count differs from the header', () => {
    expect(() => parseTsv('a\tb\n1\t2\n3\n')).toThrow(/row 2: 1 fields, but the header has 2/);
  });
});

describe('typed tables', () => {
  it('reads the repository tables with numbers parsed', async () => {
    const { locationTypes, userTypes } = await loadMlprodTables();
    expect(locationTypes.map((type) => type.meta_comment)).toEqual([
      'Zurich', 'Bern', 'Lausanne', 'Geneve', 'Lugano', 'Bellinzona', 'Locarno', 'Altdorf', 'Zermatt', 'Coira',
    ]);
    expect(locationTypes.reduce((sum, type) => sum + type.meta_n, 0)).toBe(210);
    expect(locationTypes[0]).toMatchObject({ meta_n: 40, price_min: 100, price_max: 3000, food_max: 7 });
    expect(userTypes).toHaveLength(10);
    expect(userTypes[1]).toMatchObject({ meta_comment: 'Family', meta_dist: 20, minor_age: 17, weight_score_envirnonment: 1 });
  });

  it('names the row and column of a value that is not a number', () => {
    const text = [LOCATION_HEADER, locationRow('A'), locationRow('B', 'cheap')].join('\n');
    expect(() => readLocationTypes(text)).toThrow('location.tsv row 2, column price_min: "cheap" is not a number');
    expect(() => readLocationTypes([LOCATION_HEADER, locationRow('A', '')].join('\n'))).toThrow(/row 1, column price_min: "" is not/);
  });

  it('names a missing column and a range whose minimum exceeds its maximum', () => {
    expect(() => readUserTypes('meta_comment\tmeta_dist\nSingle\t10\n')).toThrow('user.tsv row 1: missing column people_min');
    const text = [LOCATION_HEADER, locationRow('A', '500', '100')].join('\n');
    expect(() => readLocationTypes(text)).toThrow('location.tsv row 1: price_min (500) is greater than price_max (100)');
  });
});
