import { type CursorValue, decodeCursor, encodeCursor } from './cursor.js';

export interface KeysetPage<Item> {
  items: Item[];
  next_cursor: string | null;
}

export interface KeysetListing<K extends string, Row, Item> {
  /** What each value of this listing's cursor must be (by the column it is compared with). */
  cursor: Record<K, CursorValue>;
  /** Up to `limit` rows strictly after `after` (undefined: from the start), in the listing's order. */
  fetch: (after: Record<K, string> | undefined, limit: number) => Promise<Row[]>;
  /** The cursor position of a row, to continue after it. */
  position: (row: Row) => Record<K, string>;
  present: (row: Row) => Item;
  /** A page also ends once the rows on it reach `bytes` (at least one row per page). */
  budget?: { bytes: number; sizeOf: (row: Row) => number };
}

/**
 * One page of a keyset-paginated listing (see "Pagination" in the API description): one row more
 * than asked is read, so `next_cursor` is null exactly on the last page.
 */
export async function keysetPage<K extends string, Row, Item>(
  query: { limit: number; cursor?: string | undefined },
  listing: KeysetListing<K, Row, Item>,
): Promise<KeysetPage<Item>> {
  const rows = await listing.fetch(decodeCursor(query.cursor, listing.cursor), query.limit + 1);
  let end = Math.min(rows.length, query.limit);
  if (listing.budget) {
    let bytes = 0;
    for (let index = 0; index < end; index++) {
      if (bytes >= listing.budget.bytes) end = index;
      else bytes += listing.budget.sizeOf(rows[index]!);
    }
  }
  const page = rows.slice(0, end);
  const last = page.at(-1);
  return { items: page.map(listing.present), next_cursor: rows.length > end && last ? encodeCursor(listing.position(last)) : null };
}
