import { setTimeout as sleep } from 'node:timers/promises';

const MINUTE = 60_000;

/**
 * Rate limits count per calendar minute: a test that counts requests against one waits, when
 * needed, until the next minute has begun, so its window cannot turn mid-test.
 */
export async function startWellInsideAMinute(marginMs = 5_000): Promise<void> {
  const intoMinute = Date.now() % MINUTE;
  if (intoMinute > MINUTE - marginMs) await sleep(MINUTE - intoMinute + 100);
}
