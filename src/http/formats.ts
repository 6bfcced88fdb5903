/**
 * The `date` and `date-time` formats as this service can store them. RFC 3339 also allows a leap
 * second (`23:59:60`), the year 0000, and an offset that moves a time past either end of years
 * 0001–9999 (`9999-12-31T23:59:59-21:00` is year 10000 in UTC). Times are stored and answered in UTC,
 * and neither JavaScript dates, PostgreSQL nor RFC 3339 itself can write such instants back: they are
 * refused with the other validation errors instead of failing later.
 */
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00Z');
const LAST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

function validDay(year: number, month: number, day: number): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return day <= days;
}

export function isStorableDate(value: string): boolean {
  const match = DATE.exec(value);
  return match !== null && validDay(Number(match[1]), Number(match[2]), Number(match[3]));
}

export function isStorableDateTime(value: string): boolean {
  const match = DATE_TIME.exec(value);
  if (!match || !validDay(Number(match[1]), Number(match[2]), Number(match[3]))) return false;
  const [hour, minute, second] = [Number(match[4]), Number(match[5]), Number(match[6])];
  const [offsetHour, offsetMinute] = [Number(match[7] ?? 0), Number(match[8] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59 || offsetHour > 23 || offsetMinute > 59) return false;
  const instant = Date.parse(value);
  return instant >= FIRST_INSTANT && instant <= LAST_INSTANT;
}

/** For express-openapi-validator's `formats` and for Ajv's addFormat. */
export const STORABLE_FORMATS = {
  date: isStorableDate,
  'date-time': isStorableDateTime,
} as const;
